/**
 * A cheap fingerprint of the text-encoder weights, the key under which class embeddings are
 * cached: FNV-1a over every tensor's name, shape and up to 4096 evenly spaced values. Hashing
 * the full ~120 MB text tower would cost more than the cache saves; a sample of every tensor
 * already differs between any two trainings.
 */
const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;
const SAMPLES_PER_TENSOR = 4096;

export class WeightsFingerprint {
  private a = OFFSET;
  private b = OFFSET ^ 0x5bd1e995;
  private readonly bits = new Uint32Array(1);
  private readonly floats = new Float32Array(this.bits.buffer);

  private mix(word: number): void {
    this.a = Math.imul(this.a ^ word, PRIME) >>> 0;
    this.b = Math.imul(this.b ^ ((word >>> 16) | (word << 16)), PRIME) >>> 0;
  }

  addTensor(name: string, shape: readonly number[], values: Float32Array): void {
    for (let i = 0; i < name.length; i++) this.mix(name.charCodeAt(i));
    for (const d of shape) this.mix(d);
    const step = Math.max(1, Math.floor(values.length / SAMPLES_PER_TENSOR));
    for (let i = 0; i < values.length; i += step) {
      this.floats[0] = values[i]!;
      this.mix(this.bits[0]!);
    }
  }

  digest(): string {
    return this.a.toString(16).padStart(8, '0') + this.b.toString(16).padStart(8, '0');
  }
}
