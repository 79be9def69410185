/**
 * The sedseg web page: plain TypeScript + DOM. Loads a SED model (URL or local file), segments an
 * image with typed classes or a standard vocabulary, draws the labels over the image with a legend,
 * shows per-pixel class and score on hover, the per-stage timings and the device that ran.
 * Also driven by URL parameters (see README.md); every run ends with `window.__sedseg` set.
 */
import { getVocabulary, VOCABULARIES, VOCABULARY_NAMES, type RgbImage, type Segmentation } from '@sedseg/core';
import { type DeviceChoice, type LoadedModel, loadModel } from './backend.js';
import { formatClassList, parseClassJson, parseClassList } from './classes.js';
import { classColor, cssColor } from './palette.js';

export type SedsegState =
  | { status: 'running' }
  | {
      status: 'done';
      width: number;
      height: number;
      labels: number[];
      classes: string[];
      backend: string;
      device: string;
      fallbackReason?: string;
      resolution: number;
      pooling: number;
      topK?: number;
      keptClasses?: number[];
      timings: Record<string, number>;
    }
  | { status: 'done'; conformance: { passed: number; failed: number; results: unknown[] }; device: string }
  | { status: 'error'; message: string };

declare global {
  interface Window {
    __sedseg?: SedsegState;
  }
}

const $ = <E extends HTMLElement>(id: string): E => document.getElementById(id) as E;
const form = $<HTMLFormElement>('controls');
const weightsUrl = $<HTMLInputElement>('weights-url');
const weightsFile = $<HTMLInputElement>('weights-file');
const configUrl = $<HTMLInputElement>('config-url');
const backendSelect = $<HTMLSelectElement>('backend');
const drop = $<HTMLDivElement>('drop');
const imageFile = $<HTMLInputElement>('image-file');
const imageName = $<HTMLSpanElement>('image-name');
const imageUrl = $<HTMLInputElement>('image-url');
const classesText = $<HTMLTextAreaElement>('classes');
const vocabularySelect = $<HTMLSelectElement>('vocabulary');
const resolutionInput = $<HTMLInputElement>('resolution');
const poolingSelect = $<HTMLSelectElement>('pooling');
const topkInput = $<HTMLInputElement>('topk');
const runButton = $<HTMLButtonElement>('run');
const progress = $<HTMLProgressElement>('progress');
const statusText = $<HTMLSpanElement>('status-text');
const errorBox = $<HTMLDivElement>('error');
const resultBox = $<HTMLDivElement>('result');
const imageCanvas = $<HTMLCanvasElement>('image-canvas');
const overlayCanvas = $<HTMLCanvasElement>('overlay-canvas');
const opacity = $<HTMLInputElement>('opacity');
const hover = $<HTMLSpanElement>('hover');
const legend = $<HTMLUListElement>('legend');
const timingsTable = $<HTMLTableElement>('timings');
const backendInfo = $<HTMLParagraphElement>('backend-info');

for (const name of VOCABULARY_NAMES) vocabularySelect.add(new Option(`${VOCABULARIES[name].title} — ${VOCABULARIES[name].classes.length} classes`, name));

/** The image the user chose or dropped (wins over the URL field until the URL is edited). */
let chosenImage: File | undefined;
let loaded: { key: string; model: LoadedModel } | undefined;
let busy = false;

// ---------- status, errors ----------

function setStatus(text: string, fraction?: number): void {
  statusText.textContent = text;
  progress.hidden = fraction === undefined;
  if (fraction !== undefined) progress.value = Math.max(0, Math.min(1, fraction));
}

function messageOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.trim() || 'something went wrong';
}

function showError(message: string): void {
  errorBox.textContent = message;
  errorBox.hidden = false;
  setStatus('Failed.');
  window.__sedseg = { status: 'error', message };
}

/** A thrown error with a prefix saying which step failed, unless it already says so. */
async function step<X>(what: string, fn: () => Promise<X>): Promise<X> {
  try {
    return await fn();
  } catch (e) {
    throw new Error(`${what}: ${messageOf(e)}`);
  }
}

// ---------- inputs ----------

imageFile.addEventListener('change', () => chooseImage(imageFile.files?.[0]));
imageUrl.addEventListener('input', () => chooseImage(undefined));
weightsUrl.addEventListener('input', () => {
  weightsFile.value = '';
});
weightsFile.addEventListener('change', () => {
  if (weightsFile.files?.length) weightsUrl.value = '';
});
vocabularySelect.addEventListener('change', () => {
  classesText.disabled = vocabularySelect.value !== '';
});
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) chooseImage(file);
});
opacity.addEventListener('input', () => {
  overlayCanvas.style.opacity = opacity.value;
});
form.addEventListener('submit', (e) => {
  e.preventDefault();
  void run();
});

function chooseImage(file: File | undefined): void {
  chosenImage = file;
  imageName.textContent = file ? file.name : '';
  if (file) imageUrl.value = '';
}

interface Request {
  weights: string | File;
  weightsKey: string;
  configUrl: string;
  device: DeviceChoice;
  image: Blob | string;
  classes: string[];
  resolution: number;
  pooling: number;
  topK: number | undefined;
}

function readForm(): Request {
  const file = weightsFile.files?.[0];
  const url = weightsUrl.value.trim();
  if (!file && !url) throw new Error('No model: give a weights URL (or a sedseg export folder URL) or choose a weights file (.pth or .safetensors).');
  const image: Blob | string | undefined = chosenImage ?? (imageUrl.value.trim() || undefined);
  if (image === undefined) throw new Error('No image: drop or choose an image, or give an image URL.');
  let classes: string[];
  try {
    classes = vocabularySelect.value ? [...getVocabulary(vocabularySelect.value).classes] : parseClassList(classesText.value);
  } catch (e) {
    throw new Error(`Classes: ${messageOf(e)}`);
  }
  const resolution = Number(resolutionInput.value);
  if (!Number.isInteger(resolution) || resolution < 32 || resolution % 32 !== 0)
    throw new Error(`Resolution must be a positive multiple of 32 (got "${resolutionInput.value}").`);
  const topkText = topkInput.value.trim();
  const topK = topkText === '' ? 0 : Number(topkText);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`Top-k must be a whole number ≥ 0 (0 = off; got "${topkInput.value}").`);
  const weightsKey = file ? `file:${file.name}:${file.size}:${file.lastModified}` : `url:${url}`;
  return {
    weights: file ?? url,
    weightsKey,
    configUrl: configUrl.value.trim(),
    device: backendSelect.value as DeviceChoice,
    image,
    classes,
    resolution,
    pooling: Number(poolingSelect.value),
    topK: topK > 0 ? topK : undefined,
  };
}

async function decodeImage(source: Blob | string): Promise<{ rgb: RgbImage; bitmap: ImageBitmap }> {
  let blob: Blob;
  let name: string;
  if (typeof source === 'string') {
    name = source;
    const response = await fetch(new URL(source, document.baseURI)).catch((e: unknown) => {
      throw new Error(`cannot fetch ${source} (${messageOf(e)})`);
    });
    if (!response.ok) throw new Error(`cannot fetch ${source} (HTTP ${response.status} ${response.statusText})`.trim());
    blob = await response.blob();
  } else {
    name = source instanceof File ? source.name : 'the image';
    blob = source;
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`${name} is not an image this browser can decode (PNG, JPEG, WebP, …)`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    data[j] = rgba[i]!;
    data[j + 1] = rgba[i + 1]!;
    data[j + 2] = rgba[i + 2]!;
  }
  return { rgb: { width, height, data }, bitmap };
}

async function ensureModel(req: Request): Promise<LoadedModel> {
  const key = `${req.weightsKey}\n${req.configUrl}\n${req.device}`;
  if (loaded?.key === key) return loaded.model;
  if (loaded) {
    void loaded.model.model.dispose();
    loaded = undefined;
  }
  let config: unknown;
  if (req.configUrl) {
    config = await step(`Cannot read the config ${req.configUrl}`, async () => {
      const response = await fetch(new URL(req.configUrl, document.baseURI));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return JSON.parse(await response.text()) as unknown;
    });
  }
  const name = typeof req.weights === 'string' ? req.weights : req.weights.name;
  setStatus(`Loading the model ${name}…`, 0);
  const model = await step(`Cannot load the model ${name}`, () =>
    loadModel({
      weights: req.weights,
      config,
      device: req.device,
      onDownload: (done, total) =>
        setStatus(`Downloading the weights: ${(done / 1e6).toFixed(1)}${total ? ` of ${(total / 1e6).toFixed(1)}` : ''} MB`, total ? done / total : undefined),
      onLoadProgress: (done, total) => setStatus('Building the model…', total > 0 ? done / total : undefined),
    }),
  );
  loaded = { key, model };
  return model;
}

// ---------- the run ----------

async function run(): Promise<void> {
  if (busy) return;
  busy = true;
  runButton.disabled = true;
  errorBox.hidden = true;
  window.__sedseg = { status: 'running' };
  try {
    const req = readForm();
    const { rgb, bitmap } = await step('Cannot read the image', () => decodeImage(req.image));
    const m = await ensureModel(req);
    const { width, height } = rgb;
    const withProbabilities = req.classes.length * width * height <= 48e6;
    const seg = await step('Segmentation failed', () =>
      m.model.segment(rgb, {
        classes: req.classes,
        resolution: req.resolution,
        pooling: req.pooling,
        ...(req.topK !== undefined ? { topK: req.topK } : {}),
        probabilities: withProbabilities,
        onProgress: (p) => setStatus(`Segmenting: ${p.phase}${p.detail ? ` (${p.detail})` : ''}`, p.total > 0 ? p.done / p.total : undefined),
      }),
    );
    const timings: Record<string, number> = { download: m.downloadMs, load: m.loadMs, ...seg.timings };
    m.downloadMs = 0;
    m.loadMs = 0;
    const device = String(m.ops.device);
    render(seg, bitmap, timings, device, m.ops.fallbackReason);
    setStatus(`Done in ${(seg.timings.total / 1000).toFixed(2)} s on ${device}.`);
    window.__sedseg = {
      status: 'done',
      width,
      height,
      labels: Array.from(seg.labels),
      classes: seg.classes,
      backend: seg.backend,
      device,
      ...(m.ops.fallbackReason ? { fallbackReason: m.ops.fallbackReason } : {}),
      resolution: seg.resolution,
      pooling: seg.pooling,
      ...(seg.topK !== undefined ? { topK: seg.topK } : {}),
      ...(seg.keptClasses ? { keptClasses: seg.keptClasses } : {}),
      timings,
    };
  } catch (e) {
    console.error(e);
    showError(messageOf(e));
  } finally {
    busy = false;
    runButton.disabled = false;
  }
}

// ---------- the result ----------

let current: { seg: Segmentation } | undefined;

function render(seg: Segmentation, bitmap: ImageBitmap, timings: Record<string, number>, device: string, fallbackReason: string | undefined): void {
  const { width, height, labels, classes } = seg;
  current = { seg };
  resultBox.hidden = false;
  for (const c of [imageCanvas, overlayCanvas]) {
    c.width = width;
    c.height = height;
  }
  imageCanvas.getContext('2d')!.drawImage(bitmap, 0, 0);
  const octx = overlayCanvas.getContext('2d')!;
  const pixels = octx.createImageData(width, height);
  const colors = classes.map((_, i) => classColor(i));
  for (let i = 0; i < labels.length; i++) {
    const [r, g, b] = colors[labels[i]!]!;
    pixels.data[4 * i] = r;
    pixels.data[4 * i + 1] = g;
    pixels.data[4 * i + 2] = b;
    pixels.data[4 * i + 3] = 255;
  }
  octx.putImageData(pixels, 0, 0);

  legend.replaceChildren();
  const order = classes.map((_, i) => i).filter((i) => seg.areas[i]! > 0);
  order.sort((a, b) => seg.areas[b]! - seg.areas[a]!);
  for (const i of order) {
    const li = document.createElement('li');
    li.dataset.index = String(i);
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = cssColor(colors[i]!);
    li.append(swatch, `${classes[i]} — ${(100 * seg.areas[i]!).toFixed(1)} %`);
    legend.append(li);
  }
  const absent = classes.length - order.length;
  if (absent > 0) {
    const li = document.createElement('li');
    li.textContent = `(${absent} class${absent === 1 ? '' : 'es'} not present)`;
    legend.append(li);
  }

  timingsTable.replaceChildren();
  const head = timingsTable.createTHead().insertRow();
  head.append(Object.assign(document.createElement('th'), { textContent: 'stage' }), Object.assign(document.createElement('th'), { textContent: 'ms' }));
  const names: Record<string, string> = {
    download: 'weights download',
    load: 'model load',
    text: 'text encoder',
    image: 'image encoder',
    decoder: 'decoder',
    postprocess: 'post-processing',
    total: 'segmentation total',
  };
  const body = timingsTable.createTBody();
  for (const [key, ms] of Object.entries(timings)) {
    if ((key === 'download' || key === 'load') && ms === 0) continue;
    const row = body.insertRow();
    row.insertCell().textContent = names[key] ?? key;
    const cell = row.insertCell();
    cell.className = 'ms';
    cell.textContent = ms.toFixed(1);
  }
  const kept = seg.keptClasses ? ` · CER top-${seg.topK}: kept ${seg.keptClasses.length} of ${classes.length} classes` : '';
  backendInfo.textContent = `Backend ${seg.backend} on ${device}${fallbackReason ? ` (fell back: ${fallbackReason})` : ''} · resolution ${seg.resolution} · pooling ${seg.pooling}${kept} · ${width}×${height} px`;
  hover.textContent = 'Hover the image to see a pixel’s class.';
}

overlayCanvas.addEventListener('mousemove', (e) => {
  if (!current) return;
  const { seg } = current;
  const rect = overlayCanvas.getBoundingClientRect();
  const x = Math.min(seg.width - 1, Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * seg.width)));
  const y = Math.min(seg.height - 1, Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * seg.height)));
  const pixel = y * seg.width + x;
  const label = seg.labels[pixel]!;
  const probs = seg.probabilities?.data;
  const score = probs ? ` · score ${probs[label * seg.width * seg.height + pixel]!.toFixed(3)}` : '';
  hover.textContent = `(${x}, ${y}): ${seg.classes[label]}${score}`;
  for (const li of legend.children) (li as HTMLElement).classList.toggle('hot', (li as HTMLElement).dataset.index === String(label));
});
overlayCanvas.addEventListener('mouseleave', () => {
  for (const li of legend.children) li.classList.remove('hot');
});

// ---------- URL parameters ----------

async function fromQuery(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const backend = q.get('backend');
  if (backend !== null) {
    if (backend !== 'webgpu' && backend !== 'wasm' && backend !== 'auto') {
      showError(`Unknown backend "${backend}" (use webgpu or wasm).`);
      return;
    }
    backendSelect.value = backend;
  }
  if (q.get('conformance') === '1') {
    const { runConformancePage } = await import('./conformance.js');
    await runConformancePage(
      backendSelect.value as DeviceChoice,
      q.get('reference') ?? 'reference/',
      q.get('cases')?.split(',').filter(Boolean) ?? ['case-01'],
      q.get('topk')?.split(',').map(Number),
    );
    return;
  }
  weightsUrl.value = q.get('weights') ?? '';
  configUrl.value = q.get('config') ?? '';
  imageUrl.value = q.get('image') ?? '';
  const set = (input: HTMLInputElement | HTMLSelectElement, name: string): void => {
    const v = q.get(name);
    if (v !== null) input.value = v;
  };
  set(resolutionInput, 'resolution');
  set(poolingSelect, 'pooling');
  set(topkInput, 'topk');
  const classes = q.get('classes');
  if (classes !== null) classesText.value = classes;
  const vocabulary = q.get('vocabulary');
  try {
    if (vocabulary !== null) {
      vocabularySelect.value = getVocabulary(vocabulary).name;
      classesText.disabled = true;
    }
    const classesUrl = q.get('classesUrl');
    if (classesUrl !== null) {
      const text = await step(`Cannot read the class list ${classesUrl}`, async () => {
        const response = await fetch(new URL(classesUrl, document.baseURI));
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.text();
      });
      classesText.value = formatClassList(parseClassJson(text, classesUrl));
    }
  } catch (e) {
    showError(messageOf(e));
    return;
  }
  if (q.get('autorun') === '1') await run();
}

void fromQuery();
