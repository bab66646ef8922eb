import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { RedactionCounts } from './categories.js';
import { createTextScanner, type RedactOptions } from './redact.js';
import type { ScanState, TextScanner } from './scanner.js';

/** Redacts text that arrives in chunks; made by `createStreamRedactor`. */
export interface StreamRedactor {
  /** Feeds a chunk; returns the redacted text that is now safe to emit (may be ''). */
  push(chunk: string): string;
  /** Ends the stream; returns the redacted rest. */
  end(): string;
  /** Counts per category of what was redacted so far (never values). */
  readonly counts: RedactionCounts;
}

/**
 * How far back from the first undecided position a later match can start: a
 * run of non-blank characters (URL userinfo is the longest, 512 characters
 * and its scheme), then up to 16 blanks and the key before an assignment's
 * separator.
 */
const MAX_RUN_BACK = 600;
const MAX_BLANKS_BACK = 16;
/** Characters kept before the emitted point, so matchers see what came before as they would in the whole text. */
const CONTEXT = 16;

function isWhite(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * The first position a later match could still reach back to from `i`: the
 * run of non-blank characters before it, and when blanks precede that, the
 * run before them too.
 */
function reachBack(s: string, i: number, last: number): number {
  const floor = Math.max(last, i - 2 * MAX_RUN_BACK - MAX_BLANKS_BACK);
  let j = i;
  while (j > floor && i - j < MAX_RUN_BACK && !isWhite(s.charCodeAt(j - 1))) j--;
  let k = j;
  while (
    k > floor &&
    j - k < MAX_BLANKS_BACK &&
    (s.charCodeAt(k - 1) === 0x20 || s.charCodeAt(k - 1) === 0x09)
  )
    k--;
  // Only an assignment looks back over blanks, and only to a key (or its closing quote).
  const before = s.charCodeAt(k - 1);
  if (k < j && (isKeyChar(before) || before === 0x22 || before === 0x27)) {
    j = k;
    while (j > floor && k - j < MAX_RUN_BACK && !isWhite(s.charCodeAt(j - 1))) j--;
  }
  return j;
}

function isKeyChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x5f ||
    code === 0x2e ||
    code === 0x2d
  );
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * The incremental pass: what has arrived and not yet been emitted (plus a
 * little context before it), and the scanner's position in it.
 */
class Stream implements StreamRedactor {
  readonly counts: RedactionCounts = {};
  readonly #scanner: TextScanner;
  #text = '';
  #state: ScanState = { i: 0, last: 0, wordStart: true, out: '' };
  /** Custom patterns run over whole lines: the incomplete last line waits here. */
  #line = '';
  /** Text that arrived while a long undecided tail waits (see `#offer`). */
  #waiting = '';
  #ended = false;

  constructor(scanner: TextScanner) {
    this.#scanner = scanner;
  }

  push(chunk: string): string {
    if (typeof chunk !== 'string') throw new TypeError('StreamRedactor.push expects a string');
    if (this.#ended) throw new Error('StreamRedactor.push after end()');
    if (this.#scanner.idle) return chunk;
    if (!this.#scanner.hasCustom) return this.#offer(chunk);
    this.#line += chunk;
    const newline = this.#line.lastIndexOf('\n');
    if (newline < 0) return '';
    const lines = this.#line.slice(0, newline + 1);
    this.#line = this.#line.slice(newline + 1);
    return this.#offer(this.#scanner.custom(lines, this.counts));
  }

  /**
   * Scans again only once the new text is a quarter of the undecided tail's
   * length: a long tail (a key block arriving in small pieces) is then re-read
   * a bounded number of times per character, which keeps the work linear.
   * Waiting is the same as having received larger chunks, so the output is
   * unchanged; it only delays text that was already being held.
   */
  #offer(chunk: string): string {
    this.#waiting += chunk;
    const undecided = this.#text.length - this.#state.i;
    if (this.#waiting.length * 4 < undecided) return '';
    const text = this.#waiting;
    this.#waiting = '';
    return this.#feed(text, false);
  }

  end(): string {
    if (this.#ended) return '';
    this.#ended = true;
    if (this.#scanner.idle) return '';
    const rest = this.#scanner.hasCustom ? this.#scanner.custom(this.#line, this.counts) : '';
    this.#line = '';
    const text = this.#waiting + rest;
    this.#waiting = '';
    return this.#feed(text, true);
  }

  #feed(chunk: string, final: boolean): string {
    const text = this.#text + chunk;
    const state = this.#state;
    this.#scanner.advance(text, state, final, this.counts);
    let emit = final
      ? text.length
      : Math.max(state.last, reachBack(text, Math.min(state.i, text.length), state.last));
    if (emit > state.last && isHighSurrogate(text.charCodeAt(emit - 1))) emit--;
    let out = state.out;
    if (emit > state.last) {
      out += text.slice(state.last, emit);
      state.last = emit;
    }
    state.out = '';
    const cut = Math.max(0, emit - CONTEXT);
    this.#text = text.slice(cut);
    state.i -= cut;
    state.last -= cut;
    return out;
  }
}

/**
 * Redacts text that arrives in chunks (an LLM's streamed answer, a log tail).
 * For every way of cutting a text into chunks, the concatenated output is
 * `redactText(text, options)`: a chunk's tail that a pattern could still
 * complete is held back until the next chunk decides it, and no longer than
 * the longest such pattern (docs/redaction.md, "Streams"). Custom `patterns`
 * run line by line in a stream.
 * @example
 * const stream = createStreamRedactor();
 * for await (const delta of deltas) send(stream.push(delta));
 * send(stream.end());
 */
export function createStreamRedactor(options?: RedactOptions): StreamRedactor {
  return new Stream(createTextScanner(options));
}

/**
 * A Node `Transform` that redacts the text flowing through it (UTF-8 in, UTF-8
 * out, a character split across chunks is joined first). Its `counts` are the
 * stream redactor's.
 * @example
 * upstream.pipe(redactionTransform()).pipe(res);
 */
export function redactionTransform(
  options?: RedactOptions,
): Transform & { readonly counts: RedactionCounts } {
  const redactor = createStreamRedactor(options);
  const decoder = new StringDecoder('utf8');
  const transform = new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      try {
        const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
        const out = redactor.push(text);
        callback(null, out === '' ? undefined : out);
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        const out = redactor.push(decoder.end()) + redactor.end();
        callback(null, out === '' ? undefined : out);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  return Object.assign(transform, { counts: redactor.counts });
}
