/**
 * Every failure sedseg reports on purpose is a `SedsegError`: a one-line message that names
 * the thing at fault (file, key, shape, class) and a stable `code` a program can switch on.
 */
export type SedsegErrorCode =
  | 'E_IO' // a file cannot be read or written
  | 'E_FORMAT' // a file is not in the format it claims (bad zip, bad header, legacy torch file)
  | 'E_CORRUPT' // a file is truncated or internally inconsistent
  | 'E_UNSAFE' // a checkpoint asks for code we refuse to run (non-whitelisted pickle global)
  | 'E_UNSUPPORTED' // valid but not handled (dtype, opcode, compression)
  | 'E_KEY' // missing / unexpected / mis-shaped checkpoint key
  | 'E_ARGUMENT' // bad argument from the caller
  | 'E_BACKEND'; // no backend can run as asked (missing runtime, device unavailable)

export class SedsegError extends Error {
  readonly code: SedsegErrorCode;

  constructor(code: SedsegErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SedsegError';
    this.code = code;
  }
}

export function isSedsegError(e: unknown): e is SedsegError {
  return e instanceof Error && (e as { name?: string }).name === 'SedsegError' && 'code' in e;
}
