import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SedsegError, type Device } from '@sedseg/core';
import { runConformance, type ConformanceResult } from '@sedseg/core/conformance';
import { referenceDirectory } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { backendRequest } from '../backends.js';
import { threadsOption } from '../threads-option.js';
import { UsageError } from '../usage-error.js';
import type { CommandIO } from '../command.js';

export const CONFORMANCE_HELP = `Usage: sedseg conformance --backend NAME [--device D] [--threads N]
                         [--reference DIR [--cases case-01,case-04]] [--json]

Checks a backend against the contract the model relies on (the conformance kit of
@sedseg/core, "Conformance kit" in its README):
  operators  every operator, and core's default for each optional one, against exact float64
             host references on odd shapes: broadcasting, negative axes, matmul transposes and
             batch broadcasting, conv2d stride/padding/groups, convTranspose2d, both bilinear
             corner rules, exact-erf GELU, norms, pooling, tidy/dispose, and a stage run at two
             class counts (a compiled graph must not keep the first one).
             Tolerance: |actual - expected| <= 1e-4 * max(1, |expected|).
  golden     with --reference: the reference's tiny model segments each golden case
             (tiny/case-NN) like the reference implementation: labels equal wherever the
             reference's margin is >= 1e-4; per CER top-k the same kept classes and at most
             0.2 % of labels different.
Prints one line per check and ends with "N passed, N failed"; exit code 1 when a check failed.

Options:
  --backend NAME      the backend to check (required): ort, tfjs, an installed backend package,
                      or ./path/to/plugin.mjs
  --device DEVICE     auto, cpu, cuda, wasm, webgpu (default auto: the backend's first device
                      that is available here)
  --threads N         compute threads of the backend (default: its own choice)
  --reference DIR     the reference data set (the folder holding tiny/ and
                      bpe_simple_vocab_16e6.txt.gz); without it the golden cases are skipped
  --cases LIST        comma-separated golden cases to run (default: every tiny/case-NN)
  --json              one JSON report instead of lines
  -h, --help          show this help

Examples:
  sedseg conformance --backend ort
  sedseg conformance --backend ./my-backend.mjs --device cpu --reference ../shared/reference
  sedseg conformance --backend tfjs --reference ../shared/reference --cases case-01,case-04 --json`;

/** The line printed for one result. */
export function resultLine(r: ConformanceResult): string {
  return `${r.ok ? 'ok  ' : 'FAIL'} ${r.group}/${r.name}${r.ok ? '' : `: ${r.message ?? 'failed'}`} (${r.ms} ms)`;
}

function casesOption(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const cases = text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (cases.length === 0) throw new UsageError('--cases needs at least one case name (e.g. case-01)', 'conformance');
  for (const c of cases) if (!/^case-\d+$/.test(c)) throw new UsageError(`--cases: "${c}" is not a case name (case-01, case-02, …)`, 'conformance');
  return cases;
}

export async function conformanceCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('conformance', argv, {
    backend: { type: 'string' },
    device: { type: 'string' },
    threads: { type: 'string' },
    reference: { type: 'string' },
    cases: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(CONFORMANCE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, 'conformance');
  const backend = values.backend as string | undefined;
  if (backend === undefined || backend === '')
    throw new UsageError('missing --backend NAME (the backend to check: ort, tfjs, a package or ./plugin.mjs)', 'conformance');
  const cases = casesOption(values.cases as string | undefined);
  const referenceDir = values.reference as string | undefined;
  if (cases && referenceDir === undefined) throw new UsageError('--cases needs --reference DIR', 'conformance');
  if (referenceDir !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(referenceDir).isDirectory();
    } catch {
      // missing
    }
    if (!isDir) throw new UsageError(`--reference ${referenceDir}: no such folder`, 'conformance');
  }
  const threads = threadsOption(values.threads as string | undefined, 'conformance');
  if (threads?.notice) io.err(`sedseg conformance: ${threads.notice}`);

  const request = await backendRequest(
    { backend, device: values.device as string | undefined, ...(threads ? { threads: threads.threads } : {}) },
    'conformance',
  );
  const def = request.definition!;
  let device: Device | undefined;
  if (request.device !== 'auto') device = request.device;
  else {
    const reasons: string[] = [];
    for (const d of def.devices) {
      const reason = await def.unavailableReason?.(d);
      if (!reason) {
        device = d;
        break;
      }
      reasons.push(`${d}: ${reason}`);
    }
    if (!device) throw new SedsegError('E_BACKEND', `backend "${def.name}" has no device available here (${reasons.join('; ')})`);
  }
  const create = () => def.create({ device: device!, ...(threads ? { threads: threads.threads } : {}) });

  const json = values.json === true;
  if (!json) io.out(`conformance of backend "${def.name}" on ${device}${threads ? ` (${threads.threads} thread${threads.threads === 1 ? '' : 's'})` : ''}`);
  const result = await runConformance({
    create,
    ...(referenceDir !== undefined ? { reference: referenceDirectory(resolve(referenceDir)) } : {}),
    ...(cases ? { cases } : {}),
    ...(json ? {} : { onResult: (r: ConformanceResult) => io.out(resultLine(r)) }),
  });
  const ms = (group: ConformanceResult['group']): number => result.results.filter((r) => r.group === group).reduce((a, r) => a + r.ms, 0);
  if (json) {
    io.out(
      JSON.stringify(
        {
          backend: def.name,
          device,
          ...(threads ? { threads: threads.threads } : {}),
          reference: referenceDir !== undefined ? resolve(referenceDir) : null,
          golden: referenceDir !== undefined ? 'run' : 'skipped (no --reference)',
          passed: result.passed,
          failed: result.failed,
          ms: { operators: ms('operators'), golden: ms('golden') },
          results: result.results,
        },
        null,
        2,
      ),
    );
  } else {
    if (referenceDir === undefined)
      io.out('golden cases skipped: no --reference DIR (run again with --reference path/to/shared/reference to segment them with the tiny model)');
    io.out(`${result.passed} passed, ${result.failed} failed`);
  }
  return result.failed > 0 ? 1 : 0;
}
