import { badParams } from '../errors.js';

// Dates and times as GitLab's parameters take them, read strictly: a day that is not in the
// calendar (2024-02-30) or a time past its range is no date at all, never a neighbouring one.
// JavaScript's Date parser would roll 2024-02-30 over to March 1 and read a time without a zone
// in the server's local zone; Ruby's DateTime.parse, which GitLab uses, refuses the first and
// reads the second as UTC.

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
// A date, optionally a time (minutes, seconds, a fraction), optionally a zone: Z or ±hh[[:]mm].
const TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)? ?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

function daysIn(year: number, month: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const isCalendarDay = (year: number, month: number, day: number) => month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);

/** A YYYY-MM-DD day that exists (GitLab's Date parameters, milestones' dates). */
export function isDay(text: string): boolean {
  const m = DAY.exec(text);
  return m !== null && isCalendarDay(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * An ISO 8601 date or date and time (GitLab's DateTime parameters: released_at, updated_before, ...)
 * as a UTC ISO string with milliseconds, the form times are stored in; null when it names no real
 * instant (or one outside years 0000 to 9999). Without a zone the time is UTC, as DateTime.parse reads it; 24:00:00 is the next midnight.
 */
export function parseTime(text: string): string | null {
  const m = TIME.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  if (!isCalendarDay(year, month, day)) return null;
  const fraction = m[7] ? Number(`0.${m[7]}`) : 0;
  const endOfDay = hour === 24 && minute === 0 && second === 0 && fraction === 0;
  if ((hour > 23 && !endOfDay) || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[9]) {
    const hours = Number(m[10]);
    const minutes = Number(m[11] ?? 0);
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  const time = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0 to 99 as 1900 to 1999.
  time.setUTCFullYear(year, month - 1, day);
  time.setUTCHours(hour, minute - offsetMinutes, second, Math.floor(fraction * 1000));
  const iso = time.toISOString();
  // Stored times compare as text: one that a zone moved out of years 0000 to 9999 would not.
  return /^\d{4}-/.test(iso) ? iso : null;
}

/**
 * A DateTime parameter as stored, or undefined when absent or empty (Grape reads an empty DateTime
 * as nil: no filter, the default); Grape's 400 "<name> is invalid" when it is no time.
 */
export function timeParam(name: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  const time = parseTime(value);
  if (time === null) throw badParams(`${name} is invalid`);
  return time;
}
