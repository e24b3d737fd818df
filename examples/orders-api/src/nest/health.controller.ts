import { Controller, Get } from '@nestjs/common';
import { Public } from '@scopeguard/nestjs';

@Public()
@Controller('health')
export class HealthController {
  @Get()
  health() {
    return { status: 'ok' };
  }
}
