/**
 * How a use case reports progress without printing: the caller (the CLI's
 * progress bar, the demo, a test) passes a factory; ops call it once they
 * know the total.
 */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

export type ProgressFactory = (label: string, total: number) => Progress;

/** A progress that shows nothing. */
export const noProgress: ProgressFactory = () => ({ update() {}, stop() {} });
