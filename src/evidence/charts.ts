import { esc } from './html.js';

/**
 * The report's charts as inline SVG written here (no script, no library, no request): bars of
 * met and missed counts. Every label is escaped.
 */

export interface BarGroup {
  label: string;
  met: number;
  missed: number;
}

const MET = '#2e7d32';
const MISSED = '#c62828';

/** Horizontal stacked bars, one per group: met (green) then missed (red), with the counts. */
export function stackedBars(title: string, groups: readonly BarGroup[]): string {
  const rowHeight = 22;
  const labelWidth = 110;
  const barWidth = 360;
  const height = 30 + rowHeight * Math.max(1, groups.length) + 24;
  const max = Math.max(1, ...groups.map((g) => g.met + g.missed));
  const scale = (n: number): number => Math.round((n / max) * barWidth);
  const rows = groups.map((g, i) => {
    const y = 30 + i * rowHeight;
    const metW = scale(g.met);
    const missedW = scale(g.missed);
    return [
      `<text x="0" y="${y + 14}" font-size="12">${esc(g.label)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${metW}" height="16" fill="${MET}"><title>${esc(`${g.label}: ${g.met} met`)}</title></rect>`,
      `<rect x="${labelWidth + metW}" y="${y}" width="${missedW}" height="16" fill="${MISSED}"><title>${esc(`${g.label}: ${g.missed} missed`)}</title></rect>`,
      `<text x="${labelWidth + metW + missedW + 6}" y="${y + 13}" font-size="11">${g.met} met, ${g.missed} missed</text>`,
    ].join('');
  });
  const legendY = height - 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${labelWidth + barWidth + 140}" height="${height}" aria-label="${esc(title)}">`,
    `<text x="0" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
    groups.length === 0 ? '<text x="0" y="44" font-size="12">nothing decided in the period</text>' : '',
    ...rows,
    `<rect x="0" y="${legendY - 9}" width="10" height="10" fill="${MET}"/><text x="14" y="${legendY}" font-size="11">met</text>`,
    `<rect x="60" y="${legendY - 9}" width="10" height="10" fill="${MISSED}"/><text x="74" y="${legendY}" font-size="11">missed</text>`,
    '</svg>',
  ].join('');
}
