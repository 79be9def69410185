/** Where a command writes; injectable so the commands can be driven from tests. */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

export type Command = (argv: string[], io: CommandIO) => Promise<number>;
