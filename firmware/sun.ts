/**
 * Sunrise and sunset on the lamp, as street-light controllers compute them: NOAA's solar calculator
 * (Meeus' low-precision sun: mean longitude and anomaly, equation of centre, nutation-corrected
 * apparent longitude and obliquity, equation of time), sunrise/sunset at a zenith of 90.833° for
 * refraction and the solar disc, evaluated at solar noon and refined once at the event itself.
 * Well under a minute from the full algorithm outside the polar circles; no tables, no Date.
 * (NOAA's shorter fractional-year Fourier series was tried first: up to 3.4 minutes off at 60°N.)
 */

const RAD = Math.PI / 180;
const DAY_MS = 86400000;

/** Returned instead of a time when the sun stays up all day. */
export const POLAR_DAY = Infinity;
/** Returned instead of a time when the sun stays down all day. */
export const POLAR_NIGHT = -Infinity;

/** Minutes after 00:00 UTC of `day` at which the sun's centre crosses the sunrise/sunset zenith,
 * with the sun's position taken at time `t` (ms); POLAR_DAY/POLAR_NIGHT when it does not. */
function eventMinutes(day: number, t: number, lat: number, lon: number, rising: boolean): number {
  const T = (t / DAY_MS - 10957.5) / 36525; // Julian centuries since J2000.0
  const L = (280.46646 + 36000.76983 * T) * RAD; // mean longitude
  const M = (357.52911 + 35999.05029 * T) * RAD; // mean anomaly
  const e = 0.016708634 - 0.000042037 * T; // orbit eccentricity
  const C = Math.sin(M) * (1.914602 - 0.004817 * T) + Math.sin(2 * M) * 0.019993 + Math.sin(3 * M) * 0.000289;
  const omega = (125.04 - 1934.136 * T) * RAD;
  const lambda = (L / RAD + C - 0.00569 - 0.00478 * Math.sin(omega)) * RAD; // apparent longitude
  const eps = (23.439291 - 0.0130042 * T + 0.00256 * Math.cos(omega)) * RAD; // obliquity
  const decl = Math.asin(Math.sin(eps) * Math.sin(lambda));
  const y = Math.tan(eps / 2) * Math.tan(eps / 2);
  const eqtime = (4 / RAD) * (y * Math.sin(2 * L) - 2 * e * Math.sin(M) + 4 * e * y * Math.sin(M) * Math.cos(2 * L) - 0.5 * y * y * Math.sin(4 * L) - 1.25 * e * e * Math.sin(2 * M));
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
  const first = eventMinutes(day, day * DAY_MS + (720 - 4 * lon) * 60000, lat, lon, rising);
  if (first !== first || first === POLAR_DAY || first === POLAR_NIGHT) return first;
  const m = eventMinutes(day, day * DAY_MS + first * 60000, lat, lon, rising);
  // The refinement can tip a day at the polar boundary over; the first estimate then stands.
  return day * DAY_MS + (m === POLAR_DAY || m === POLAR_NIGHT ? first : m) * 60000;
}
