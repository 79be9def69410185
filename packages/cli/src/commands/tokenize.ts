import { loadDefaultTokenizer } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../usage-error.js';
import type { CommandIO } from '../command.js';

export const TOKENIZE_HELP = `Usage: sedseg tokenize [--json] TEXT...

Tokenizes each TEXT with the CLIP BPE tokenizer exactly as SED's text encoder sees it: the
77 token ids (<start_of_text>, the BPE ids, <end_of_text>, zero padding; long texts are
truncated with <end_of_text> kept last).

Options:
  --json       print a JSON array of {"text", "tokens"} objects
  -h, --help   show this help

Examples:
  sedseg tokenize "a photo of a cat."
  sedseg tokenize --json "a bad photo of a person." "itap of my tree."`;

export async function tokenizeCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('tokenize', argv, { json: { type: 'boolean' } });
  if (values.help) {
    io.out(TOKENIZE_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('missing TEXT to tokenize', 'tokenize');
  const tokenizer = await loadDefaultTokenizer();
  const contextLength = 77;
  const rows = tokenizer.tokenize(positionals, contextLength);
  const result = positionals.map((text, i) => ({
    text,
    tokens: Array.from(rows.subarray(i * contextLength, (i + 1) * contextLength)),
  }));
  if (values.json) io.out(JSON.stringify(result));
  else for (const r of result) io.out(r.tokens.join(' '));
  return 0;
}
