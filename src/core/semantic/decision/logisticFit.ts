/**
 * How the chance that a stored answer is right grows with the similarity of the question
 * that found it: a logistic curve, P(right | s) = σ(a + b·x) with x = (s − 0.85) / 0.1, fitted
 * to observations (s, right or not) by maximum a posteriori under a Gaussian prior, with its
 * uncertainty (the inverse of the posterior's curvature, Laplace's approximation). Pure
 * arithmetic on two parameters: no library, no allocation per step.
 */

/** Similarities are centred and scaled so the two parameters live on comparable scales. */
const CENTRE = 0.85;
const SCALE = 0.1;

/** One observation: a question at similarity `s` to an entry, and whether the entry's answer was right for it. */
export interface Observation {
  similarity: number;
  correct: boolean;
}

/** A Gaussian over (a, b): the mean and the covariance [[aa, ab], [ab, bb]]. */
export interface Gaussian2 {
  a: number;
  b: number;
  aa: number;
  ab: number;
  bb: number;
}

/** What the pooled curve starts from with no observation: flat and wide (a right answer is neither likely nor unlikely). */
export const UNINFORMED: Gaussian2 = Object.freeze({ a: 0, b: 0, aa: 100, ab: 0, bb: 100 });

const MAX_ITERATIONS = 25;
const TOLERANCE = 1e-9;

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export const centred = (similarity: number) => (similarity - CENTRE) / SCALE;

/**
 * The posterior over (a, b) given the observations and the prior. Newton's method on the
 * log-posterior, which is concave, so it converges from the prior's mean; with no
 * observations the posterior is the prior.
 */
export function fitLogistic(observations: readonly Observation[], prior: Gaussian2 = UNINFORMED): Gaussian2 {
  // The prior's precision (inverse covariance).
  const det = prior.aa * prior.bb - prior.ab * prior.ab;
  const pa = prior.bb / det;
  const pab = -prior.ab / det;
  const pb = prior.aa / det;
  let a = prior.a;
  let b = prior.b;
  // Curvature of the negative log-posterior at the current point.
  let haa = pa;
  let hab = pab;
  let hbb = pb;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    // Gradient of the log-posterior, and the negative Hessian.
    let ga = -(pa * (a - prior.a) + pab * (b - prior.b));
    let gb = -(pab * (a - prior.a) + pb * (b - prior.b));
    haa = pa;
    hab = pab;
    hbb = pb;
    for (const observation of observations) {
      const x = centred(observation.similarity);
      const p = sigmoid(a + b * x);
      const residual = (observation.correct ? 1 : 0) - p;
      ga += residual;
      gb += residual * x;
      const w = p * (1 - p);
      haa += w;
      hab += w * x;
      hbb += w * x * x;
    }
    const hdet = haa * hbb - hab * hab;
    if (!(hdet > 0)) break;
    const da = (hbb * ga - hab * gb) / hdet;
    const db = (haa * gb - hab * ga) / hdet;
    a += da;
    b += db;
    if (Math.abs(da) + Math.abs(db) < TOLERANCE) break;
  }
  const hdet = haa * hbb - hab * hab;
  return { a, b, aa: hbb / hdet, ab: -hab / hdet, bb: haa / hdet };
}

/** The same Gaussian with its covariance widened by `spread` on each parameter: a pooled fit as the prior of one entry. */
export function widened(fit: Gaussian2, spread: { a: number; b: number }): Gaussian2 {
  return { ...fit, aa: fit.aa + spread.a * spread.a, bb: fit.bb + spread.b * spread.b };
}

/** The estimated chance of a right answer at similarity `s`. */
export function chanceRight(fit: Gaussian2, similarity: number): number {
  return sigmoid(fit.a + fit.b * centred(similarity));
}

/**
 * A lower confidence bound on the chance of a right answer at similarity `s`: the linear
 * predictor `z` standard deviations below its estimate (z = 1.645 for one-sided 95%).
 */
export function chanceRightAtLeast(fit: Gaussian2, similarity: number, z: number): number {
  const x = centred(similarity);
  const variance = fit.aa + 2 * x * fit.ab + x * x * fit.bb;
  return sigmoid(fit.a + fit.b * x - z * Math.sqrt(Math.max(0, variance)));
}

/**
 * The lowest similarity in [from, 1] at which the lower bound reaches `target`, or undefined
 * when it never does. The bound need not be monotone far from the data, so the interval is
 * scanned in steps of 0.001 from the top down and the last similarity still above is kept.
 */
export function lowestSimilarityReaching(fit: Gaussian2, target: number, z: number, from: number): number | undefined {
  let lowest: number | undefined;
  for (let step = 1000; step >= Math.ceil(from * 1000); step--) {
    const similarity = step / 1000;
    if (chanceRightAtLeast(fit, similarity, z) >= target) lowest = similarity;
    else if (lowest !== undefined) break;
  }
  return lowest;
}
