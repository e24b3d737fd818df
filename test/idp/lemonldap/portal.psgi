# LemonLDAP::NG's portal (OpenID Connect provider) under plackup, for test/idp/run.mjs, with the
# handler's reload endpoint beside it: what the manager calls after saving a configuration
# (reloadUrls), so a key change is served at once instead of at the next checkTime.
# LLNG_DEFAULTCONFFILE names the run's lemonldap-ng.ini (servers/lemonldap.mjs writes it).
use strict;
use Plack::Builder;
use Lemonldap::NG::Portal::Main;
use Lemonldap::NG::Handler::Server::Nginx;

my $portal = Lemonldap::NG::Portal::Main->run( {} );
my $reload = Lemonldap::NG::Handler::Server::Nginx->reload();

builder {
    mount '/reload' => $reload;
    mount '/'       => $portal;
};
