/** A distinct, stable colour per class index (golden-angle hues, alternating lightness). */
export function classColor(index: number): [number, number, number] {
  const h = (index * 137.508) % 360;
  const s = 0.65;
  const l = index % 2 === 0 ? 0.5 : 0.62;
  const k = (n: number): number => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1))));
  return [f(0), f(8), f(4)];
}

export const cssColor = ([r, g, b]: [number, number, number]): string => `rgb(${r}, ${g}, ${b})`;
