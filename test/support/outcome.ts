/** The code of the refusal a promise rejects with (`code` of a ScopeguardError), or `OK` when it resolves. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    return (error as { code: string }).code;
  }
}
