// A fixed, mergeable log-scale latency histogram. Bucket 0 holds values below MIN_MS; bucket i ≥ 1
// holds [MIN_MS·G^(i-1), MIN_MS·G^i) with G = 2^(1/8) (8 buckets per doubling); the last bucket
// also takes everything above. A percentile is reported as the geometric middle of its bucket, so
// for values between MIN_MS and MAX_MS the relative error is at most 2^(1/16) − 1 ≈ 4.4 %. Because
// the bucket edges are the same everywhere, histograms merge by adding counts (across operations,
// minutes, replicas and in SQL), and the error bound survives merging.
export const MIN_MS = 0.05;
export const BUCKETS_PER_DOUBLING = 8;
export const BUCKET_COUNT = 200; // up to 0.05 ms · 2^(199/8) ≈ 27 min
export const MAX_MS = MIN_MS * 2 ** ((BUCKET_COUNT - 1) / BUCKETS_PER_DOUBLING);
export const RELATIVE_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1;

export function bucketOf(ms: number): number {
  if (!(ms >= MIN_MS)) return 0;
  const i = 1 + Math.floor(Math.log2(ms / MIN_MS) * BUCKETS_PER_DOUBLING);
  return i >= BUCKET_COUNT ? BUCKET_COUNT - 1 : i;
}

/** The value a bucket stands for: the geometric middle of its range. */
export function bucketValue(i: number): number {
  if (i <= 0) return MIN_MS / 2;
  return MIN_MS * 2 ** ((i - 0.5) / BUCKETS_PER_DOUBLING);
}

export type Counts = ArrayLike<number | string>;

export function newHistogram(): Float64Array {
  return new Float64Array(BUCKET_COUNT);
}

/** Add src into dst (dst may be longer or shorter than src; extra src buckets are clamped to the last). */
export function mergeInto(dst: Float64Array, src: Counts | null | undefined): Float64Array {
  if (!src) return dst;
  for (let i = 0; i < src.length; i++) {
    const v = Number(src[i]);
    if (v) dst[Math.min(i, dst.length - 1)] += v;
  }
  return dst;
}

/** Nearest-rank quantile (q in 0..1) of a histogram; null when empty. */
export function quantile(h: Counts, q: number): number | null {
  let total = 0;
  for (let i = 0; i < h.length; i++) total += Number(h[i]);
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < h.length; i++) {
    seen += Number(h[i]);
    if (seen >= rank) return round3(bucketValue(i));
  }
  return round3(bucketValue(h.length - 1));
}

export function percentiles(h: Counts): { p50: number | null; p95: number | null; p99: number | null } {
  return { p50: quantile(h, 0.5), p95: quantile(h, 0.95), p99: quantile(h, 0.99) };
}

/** Counts as a plain array without trailing zeros (what is stored in PostgreSQL). */
export function toStored(h: Counts): number[] {
  let end = h.length;
  while (end > 0 && !h[end - 1]) end--;
  const out = new Array<number>(end);
  for (let i = 0; i < end; i++) out[i] = Math.round(Number(h[i]));
  return out;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
