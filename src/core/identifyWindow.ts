import { maxTimerMs } from './validation.ts';

/**
 * Discord measures a bucket's window between IDENTIFYs as they arrive; a grant is given a few ms
 * before its IDENTIFY leaves, and that delay varies (a busy event loop, a slow coordinator reply).
 * Every identify queue of this package waits 5% longer than the window, so an IDENTIFY that left
 * quickly never lands inside the previous one's window.
 */
export const identifyWindowMargin = 0.05;
/** ...and never less than this, for short windows: a busy event loop can hold an IDENTIFY this long. */
export const minIdentifyWindowMarginMs = 50;

/** The window a queue actually keeps between two grants of one bucket. */
export function paddedIdentifyWindowMs(windowMs: number): number {
  return Math.ceil(windowMs + Math.max(windowMs * identifyWindowMargin, minIdentifyWindowMarginMs));
}

/** The longest window an option may name: its padded form must still fit in one timer. */
export const maxIdentifyWindowMs = Math.floor((maxTimerMs - minIdentifyWindowMarginMs) / (1 + identifyWindowMargin));
