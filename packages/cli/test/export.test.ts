/**
 * `sedseg export` as a user runs it: the stage graphs and manifest written for the tiny
 * checkpoint, loadable by onnxruntime-node; existing files kept without --overwrite; errors in
 * one line. (Numerical checks of exported graphs in onnxruntime-web: packages/parity.)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { REFERENCE_DIR, runCli } from './run-cli.js';

const TINY = resolve(REFERENCE_DIR, 'tiny/model.pth');
const work = mkdtempSync(join(tmpdir(), 'sedseg-export-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sedseg export', () => {
  const out = join(work, 'onnx');

  it('prints help with examples', () => {
    const r = runCli(['export', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: sedseg export --weights W --out DIR/);
    expect(r.stdout).toMatch(/Examples:/);
  });

  it('writes every stage graph per resolution and a manifest that onnxruntime-node loads', async () => {
    const r = runCli(['export', '--weights', TINY, '--out', out, '--resolution', '64', '--resolution', '96']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/13 graphs \+ embedding tables \+ manifest\.json/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.format).toBe('sedseg-onnx-stages');
    expect(manifest.opset).toBe(17);
    expect(manifest.weightsDtype).toBe('float32');
    expect(Object.keys(manifest.resolutions)).toEqual(['64', '96']);
    for (const stage of [...manifest.resolutions['64'].stages, manifest.text.stage]) {
      const file = join(out, stage.file);
      expect(statSync(file).size).toBe(stage.bytes);
      const session = await ort.InferenceSession.create(file);
      expect([...session.inputNames].sort()).toEqual(stage.inputs.map((i: { name: string }) => i.name).sort());
      expect([...session.outputNames].sort()).toEqual(stage.outputs.map((o: { name: string }) => o.name).sort());
      await session.release();
    }
  });

  it('keeps existing files unless --overwrite, and --fp16 halves the weights', () => {
    const again = runCli(['export', '--weights', TINY, '--out', out, '--resolution', '64']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/manifest\.json exists \(use --overwrite/);
    const fp32 = statSync(join(out, 'r64/imageEncoder.onnx')).size;
    const half = runCli(['export', '--weights', TINY, '--out', out, '--resolution', '64', '--fp16', '--overwrite']);
    expect(half.code).toBe(0);
    const fp16 = statSync(join(out, 'r64/imageEncoder.onnx')).size;
    expect(fp16).toBeLessThan(fp32 * 0.6);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).weightsDtype).toBe('float16');
  });

  it.each([
    ['no --out', ['--weights', TINY], 2, /missing --out DIR/],
    [
      'a resolution not a multiple of 32',
      ['--weights', TINY, '--out', join(work, 'x'), '--resolution', '100'],
      2,
      /--resolution must be a multiple of 32, got 100/,
    ],
    [
      'missing weights',
      ['--weights', join(work, 'nope.pth'), '--out', join(work, 'y')],
      1,
      /nope\.pth: cannot open \(no such file; weights are a file path, a model name \(sed-b, sed-l\) or an http\(s\) URL\)/,
    ],
  ])('%s: one-line error', (_what, args, code, message) => {
    const r = runCli(['export', ...(args as string[])]);
    expect(r.code).toBe(code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message as RegExp);
  });

  it('refuses an --out that is a file', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const r = runCli(['export', '--weights', TINY, '--out', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a-file: exists and is not a folder/);
    expect(existsSync(join(file, 'manifest.json'))).toBe(false);
  });
});
