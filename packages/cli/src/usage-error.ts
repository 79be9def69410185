/** A mistake in how the command was called (exit code 2), as opposed to a failure (exit code 1). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
