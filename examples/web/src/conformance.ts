/**
 * `?conformance=1&backend=webgpu|wasm`: core's conformance kit (operator checks, then the tiny
 * model's golden cases: `&cases=case-01,case-04`, default case-01, empty = operators only;
 * `&topk=1,8` restricts the CER top-k checked) on the browser backend, against the reference data set served under
 * `reference/` (or `&reference=<url>`). Sets `window.__sedseg = { status: 'done', conformance }`.
 */
import { fetchReference, runConformance } from '@sedseg/core/conformance';
import { type DeviceChoice, makeOps } from './backend.js';

export async function runConformancePage(device: DeviceChoice, referenceUrl: string, cases: string[], topK?: number[]): Promise<void> {
  const box = document.getElementById('conformance')!;
  const status = document.getElementById('status-text')!;
  box.hidden = false;
  window.__sedseg = { status: 'running' };
  status.textContent = `Conformance on ${device}…`;
  try {
    const probe = await makeOps(device);
    const actual = String(probe.device);
    const table = document.createElement('table');
    box.replaceChildren(table);
    const report = await runConformance({
      create: () => makeOps(device),
      // no case named: the operator checks alone
      ...(cases.length > 0 ? { reference: fetchReference(new URL(referenceUrl, document.baseURI)), cases } : {}),
      ...(topK ? { topK } : {}),
      onResult(r) {
        const row = table.insertRow();
        row.className = r.ok ? '' : 'fail';
        row.insertCell().textContent = r.ok ? 'ok' : 'FAIL';
        row.insertCell().textContent = r.group;
        row.insertCell().textContent = r.name;
        row.insertCell().textContent = `${r.ms.toFixed(0)} ms`;
        row.insertCell().textContent = r.message ?? '';
        status.textContent = `Conformance on ${actual}: ${table.rows.length} checks…`;
      },
    });
    status.textContent = `Conformance on ${actual}: ${report.passed} passed, ${report.failed} failed.`;
    window.__sedseg = { status: 'done', device: actual, conformance: { passed: report.passed, failed: report.failed, results: report.results } };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    status.textContent = 'Conformance failed to run.';
    const err = document.getElementById('error')!;
    err.textContent = message;
    err.hidden = false;
    window.__sedseg = { status: 'error', message };
  }
}
