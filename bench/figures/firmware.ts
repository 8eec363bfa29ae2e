/** Figure 6: the firmware bundle's minified size, built the way `npm run build` builds it. */
import { gzipSync } from 'node:zlib';
import { bundleFirmware, bundleProblems, MAX_BUNDLE_BYTES, moduleSizes } from '../../firmware/espruino/build.js';
import { count, Report } from '../report.js';

export async function measureFirmware(report: Report): Promise<void> {
  const f = report.figure('firmware', 'Firmware bundle bytes, minified', `≤ 16 KB (${count(MAX_BUNDLE_BYTES)} B)`);
  try {
    const code = await bundleFirmware();
    const bytes = Buffer.byteLength(code);
    Report.row(f, { label: 'bundle as npm run build writes dist/firmware/lampnet.js (esbuild, SWC to ES5, terser)', value: `${count(bytes)} B`, reference: `budget ${count(MAX_BUNDLE_BYTES)} B`, ratio: bytes / MAX_BUNDLE_BYTES });
    Report.row(f, { label: 'gzip -9 of the same (for scale only; Espruino stores it raw)', value: `${count(gzipSync(code, { level: 9 }).length)} B` });
    Report.verdict(f, bytes <= MAX_BUNDLE_BYTES);
    const problems = (await bundleProblems(code)).filter((p) => !p.includes('budget'));
    if (problems.length > 0) Report.note(f, `other build problems: ${problems.join('; ')}`);
    if (bytes > MAX_BUNDLE_BYTES) {
      const largest = (await moduleSizes()).slice(0, 5).map((m) => `${m.module} ${count(m.bytes)} B`).join(', ');
      Report.note(f, `over budget by ${count(bytes - MAX_BUNDLE_BYTES)} B; largest modules (minified alone): ${largest}`);
    }
  } catch (err) {
    Report.failed(f, err);
  }
}
