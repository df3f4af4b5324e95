/**
 * How every benchmark reports a device peak. memory.track's peak is absolute: every byte on the device,
 * including whatever an earlier section or benchmark of the same process left there (`memhooks bench all`
 * runs the suite in one process). A section therefore takes a baseline before it builds its subject, and
 * reports the peak above it: the subject's resident weights, its input and its activations, which is what
 * the same code prints in a fresh app with nothing else on the device.
 */
import { memory } from '../src/index.js';

/** Device bytes held right now: take it before the measured subject (model, pipeline, input) exists. */
export function deviceBaseline(): number {
  return memory.stats().deviceBytes;
}

/** memory.track of fn, its peak counted above `baseline` (never below 0). */
export function trackAbove<T>(baseline: number, fn: () => T): { result: T; peakDeviceBytes: number } {
  const { result, peakDeviceBytes } = memory.track(fn);
  return { result, peakDeviceBytes: Math.max(0, peakDeviceBytes - baseline) };
}

/** memory.track of fn, its peak counted from the bytes on the device when fn starts: what fn itself adds. */
export function trackFromStart<T>(fn: () => T): { result: T; peakDeviceBytes: number } {
  return trackAbove(deviceBaseline(), fn);
}

/** The sentence a results table gives for peaks measured with trackAbove (bytes: what was subtracted). */
export function aloneNote(leftoverBytes: number): string {
  return (
    'Peak device MB: memory.track\'s peak minus what was on the device before the section built its subject ' +
    `(${leftoverBytes} bytes here), i.e. with nothing else resident: the weights the strategy keeps on the device, ` +
    'the input and the activations, as the same code prints in a fresh app.'
  );
}

/** The sentence a results table gives for peaks measured with trackFromStart. */
export const FROM_START_NOTE = 'Peak = device bytes above what was on the device when the measured call started (memory.track).';
