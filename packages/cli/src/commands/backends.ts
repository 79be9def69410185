/**
 * `sedseg backends`: the backends this installation can use, the devices each supports, and for
 * every device whether it starts here or why not (each is started once to find out; no model).
 */
import { listBackends, type BackendDefinition, type Device } from '@sedseg/core';
import { parseCommandArgs } from '../args.js';
import { backendDefinition, BUILTIN_BACKENDS, loadBuiltinBackends } from '../backends.js';
import type { CommandIO } from '../command.js';

export const BACKENDS_HELP = `Usage: sedseg backends [--backend SPEC]... [--json]

Lists the backends --backend can name: the built-in ones (${Object.keys(BUILTIN_BACKENDS).join(', ')}) and any
backend package or plugin module given with --backend, with the devices each supports and, for
each device, whether it starts on this machine or why it cannot. Without --backend/--device,
segment uses the first that starts, highest priority first (the order shown).

Options:
  --backend SPEC   also load a backend package or plugin module (./plugin.mjs); repeatable
  --json           machine-readable output
  -h, --help       show this help

Examples:
  sedseg backends
  sedseg backends --backend ./my-backend/plugin.mjs --json`;

interface DeviceStatus {
  device: Device;
  available: boolean;
  reason?: string;
}

/** Starts a backend on a device to see whether it can run here (no model is loaded). */
async function probe(def: BackendDefinition, device: Device): Promise<DeviceStatus> {
  try {
    const reason = await def.unavailableReason?.(device);
    if (reason) return { device, available: false, reason };
    await def.create({ device });
    return { device, available: true };
  } catch (e) {
    return { device, available: false, reason: (e instanceof Error ? e.message : String(e)).split('\n')[0]! };
  }
}

export async function backendsCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs('backends', argv, {
    backend: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(BACKENDS_HELP);
    return 0;
  }
  const missing = await loadBuiltinBackends();
  for (const spec of (values.backend as string[] | undefined) ?? []) await backendDefinition(spec);
  const rows: { name: string; priority: number; description?: string; devices: DeviceStatus[] }[] = [];
  // probed one after another: two runtimes initialising at once compete for the same threads
  for (const def of listBackends()) {
    const devices: DeviceStatus[] = [];
    for (const device of def.devices) devices.push(await probe(def, device));
    rows.push({ name: def.name, priority: def.priority, ...(def.description ? { description: def.description } : {}), devices });
  }
  const unavailable = Object.entries(missing).map(([name, reason]) => ({ name, reason }));
  if (values.json) {
    io.out(JSON.stringify({ backends: rows, unavailable }, null, 2));
    return 0;
  }
  for (const row of rows) {
    io.out(`${row.name} (priority ${row.priority})${row.description ? `: ${row.description}` : ''}`);
    for (const d of row.devices) io.out(`  ${d.device.padEnd(7)} ${d.available ? 'available' : `unavailable: ${d.reason}`}`);
  }
  for (const u of unavailable) io.out(`${u.name}: not installed (${u.reason})`);
  return 0;
}
