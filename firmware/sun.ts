/**
 * Sunrise and sunset on the lamp, as street-light controllers compute them: NOAA's general solar
 * position formulas (fractional-year Fourier series for the equation of time and the declination,
 * sunrise/sunset at a zenith of 90.833° for refraction and the solar disc), refined once at the
 * event's own hour. Good to well under a minute at street-lamp latitudes; no tables, no Date.
 */

const RAD = Math.PI / 180;
const DAY_MS = 86400000;

/** Returned instead of a time when the sun stays up all day. */
export const POLAR_DAY = Infinity;
/** Returned instead of a time when the sun stays down all day. */
export const POLAR_NIGHT = -Infinity;

/** Days from 1970-01-01 to January 1 of `year` (proleptic Gregorian). */
function yearStartDay(year: number): number {
  const y = year - 1;
  return 365 * (year - 1970) + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400) - 477;
}

/** Minutes after 00:00 UTC of `day` (days since the epoch) at which the sun's centre crosses the
 * sunrise/sunset zenith at `hour` (UTC hours, for the fractional year); POLAR_DAY/POLAR_NIGHT when
 * it does not. */
function eventMinutes(day: number, hour: number, lat: number, lon: number, rising: boolean): number {
  let year = Math.floor(day / 365.2425) + 1970;
  if (yearStartDay(year) > day) year--;
  else if (yearStartDay(year + 1) <= day) year++;
  const start = yearStartDay(year);
  const g = ((2 * Math.PI) / (yearStartDay(year + 1) - start)) * (day - start + (hour - 12) / 24);
  const eqtime = 229.18 * (0.000075 + 0.001868 * Math.cos(g) - 0.032077 * Math.sin(g) - 0.014615 * Math.cos(2 * g) - 0.040849 * Math.sin(2 * g));
  const decl = 0.006918 - 0.399912 * Math.cos(g) + 0.070257 * Math.sin(g) - 0.006758 * Math.cos(2 * g) + 0.000907 * Math.sin(2 * g) - 0.002697 * Math.cos(3 * g) + 0.00148 * Math.sin(3 * g);
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
  const first = eventMinutes(day, 12, lat, lon, rising);
  if (first !== first || first === POLAR_DAY || first === POLAR_NIGHT) return first;
  const m = eventMinutes(day, first / 60, lat, lon, rising);
  // The refinement can tip a day at the polar boundary over; the first estimate then stands.
  return day * DAY_MS + (m === POLAR_DAY || m === POLAR_NIGHT ? first : m) * 60000;
}
