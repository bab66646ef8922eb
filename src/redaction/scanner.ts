import {
  categoryMarker,
  KEY_MARKER,
  type RedactionCategory,
  type RedactionCounts,
} from './categories.js';
import type { KeyMatcher } from './keys.js';
import { assignmentMatchers } from './matchers/assignment.js';
import { bearer } from './matchers/bearer.js';
import { card } from './matchers/card.js';
import { email, urlCredentials } from './matchers/email.js';
import { ipv4, ipv6 } from './matchers/ip.js';
import { jwt } from './matchers/jwt.js';
import { dob, iban, phoneMatchers, ssn } from './matchers/personal.js';
import { pemKey, puttyKey } from './matchers/private-key.js';
import { API_KEY_MATCHERS } from './matchers/tokens.js';
import { DIGIT, is, WORD, type Matcher } from './text.js';

/*
 * The dispatcher: one left-to-right pass over a string. Matchers (one module
 * per category under ./matchers) are anchored at cheap triggers: a word that
 * starts with one of their prefixes, a digit, or a character such as `@`,
 * `:`, `=`, `-`. Each reads a bounded amount of text and returns a match or
 * where to go on, so the pass is linear in the input whatever the input is;
 * no regular expression is involved, so nothing can backtrack.
 */

/** A custom pattern after option checking: a global copy of the caller's expression. */
export interface CompiledPattern {
  readonly category: string;
  readonly regex: RegExp;
  readonly marker: string;
}

/**
 * Where a pass stands: the next position to look at, the end of the last
 * match, whether `i` is at a word start, and the output for the text before
 * `last`. `redactText` runs one pass to the end; the stream redactor keeps one
 * across chunks.
 */
export interface ScanState {
  i: number;
  last: number;
  wordStart: boolean;
  out: string;
}

/** How far past its outcome (a match's end, or where to go on) a matcher may read: a PEM END line's dashes. */
const SLACK = 8;

interface WordEntry {
  readonly word: string;
  readonly matcher: Matcher;
}

/** Every built-in matcher in the order they are tried at the same trigger. */
function builtInMatchers(keys: KeyMatcher | undefined): Matcher[] {
  return [
    urlCredentials,
    email,
    bearer,
    jwt,
    ...API_KEY_MATCHERS,
    pemKey,
    puttyKey,
    ipv4,
    ipv6,
    card,
    ssn,
    ...phoneMatchers,
    iban,
    dob,
    ...(keys === undefined ? [] : assignmentMatchers(keys)),
  ];
}

const MARKERS = new Map<RedactionCategory, string>();
function markerOf(category: RedactionCategory): string {
  let marker = MARKERS.get(category);
  if (marker === undefined) {
    marker =
      category === 'key' || category === 'assignment' ? KEY_MARKER : categoryMarker(category);
    MARKERS.set(category, marker);
  }
  return marker;
}

/** The per-redactor text engine: the enabled matchers indexed by trigger, and custom patterns. */
export class TextScanner {
  readonly #custom: readonly CompiledPattern[];
  /** Matchers for words starting with a digit. */
  readonly #digits: readonly Matcher[];
  /** Matchers by the first two characters of their word prefixes, indexed `first << 7 | second`. */
  readonly #pairs: (WordEntry[] | undefined)[] = new Array<WordEntry[] | undefined>(128 * 128);
  /** Matchers whose word prefix is one character. */
  readonly #firsts: (WordEntry[] | undefined)[] = new Array<WordEntry[] | undefined>(128);
  /** Whether some word prefix starts with this character. */
  readonly #wordTrigger = new Uint8Array(128);
  /** Matchers by the non-word character that triggers them. */
  readonly #chars: (Matcher[] | undefined)[] = new Array<Matcher[] | undefined>(128);
  /** True when the scanner would never change a string (every category off, no custom pattern). */
  readonly idle: boolean;

  constructor(
    enabled: ReadonlySet<RedactionCategory>,
    keys: KeyMatcher | undefined,
    custom: readonly CompiledPattern[],
  ) {
    this.#custom = custom;
    const matchers = builtInMatchers(enabled.has('assignment') ? keys : undefined).filter((m) =>
      enabled.has(m.category),
    );
    const digits: Matcher[] = [];
    for (const matcher of matchers) {
      for (const word of matcher.words ?? []) {
        if (word === 'digits') {
          if (!digits.includes(matcher)) digits.push(matcher);
          continue;
        }
        const first = word.charCodeAt(0);
        this.#wordTrigger[first] = 1;
        const entry = { word, matcher };
        if (word.length === 1) (this.#firsts[first] ??= []).push(entry);
        else (this.#pairs[(first << 7) | word.charCodeAt(1)] ??= []).push(entry);
      }
      for (const char of matcher.chars ?? '') {
        const list = (this.#chars[char.charCodeAt(0)] ??= []);
        if (!list.includes(matcher)) list.push(matcher);
      }
    }
    // A one-character prefix joins every pair that starts with it, so a word start reads one list.
    for (let first = 0; first < 128; first++) {
      const ones = this.#firsts[first];
      if (ones === undefined) continue;
      for (let second = 0; second < 128; second++) {
        const index = (first << 7) | second;
        this.#pairs[index] = [...(this.#pairs[index] ?? []), ...ones];
      }
    }
    this.#digits = digits;
    this.idle = matchers.length === 0 && custom.length === 0;
  }

  /** Whether custom patterns run first (the stream redactor runs those line by line). */
  get hasCustom(): boolean {
    return this.#custom.length > 0;
  }

  scan(input: string, counts: RedactionCounts | undefined): string {
    const s = this.custom(input, counts);
    const state: ScanState = { i: 0, last: 0, wordStart: true, out: '' };
    this.advance(s, state, true, counts);
    return state.last === 0 ? s : state.out + s.slice(state.last);
  }

  /** The custom patterns over `input`, in order. */
  custom(input: string, counts: RedactionCounts | undefined): string {
    let s = input;
    for (const pattern of this.#custom) {
      pattern.regex.lastIndex = 0;
      s =
        counts === undefined
          ? s.replace(pattern.regex, pattern.marker)
          : s.replace(pattern.regex, () => {
              counts[pattern.category] = (counts[pattern.category] ?? 0) + 1;
              return pattern.marker;
            });
    }
    return s;
  }

  /**
   * Moves `state` along `s`, appending redacted output for every match to
   * `state.out`. With `final` false, `s` may go on later: the pass stops at
   * the first trigger whose matcher could still read past the end of `s`
   * (its lookahead, or a run that reaches the end), so every decision it
   * takes is the one it would take on the whole text.
   */
  advance(s: string, state: ScanState, final: boolean, counts: RedactionCounts | undefined): void {
    const n = s.length;
    let { i, wordStart } = state;
    while (i < n) {
      const c = s.charCodeAt(i);
      let found: readonly Matcher[] | readonly WordEntry[] | undefined;
      let words = false;
      if (is(c, WORD)) {
        if (wordStart) {
          if (is(c, DIGIT)) found = this.#digits;
          else if (c < 128 && this.#wordTrigger[c] === 1) {
            if (!final && i + 1 >= n) break;
            const next = s.charCodeAt(i + 1);
            found = (next < 128 ? this.#pairs[(c << 7) | next] : undefined) ?? this.#firsts[c];
            words = true;
          }
        }
        if (found === undefined || found.length === 0) {
          i++;
          while (i < n && is(s.charCodeAt(i), WORD)) i++;
          wordStart = false;
          continue;
        }
      } else {
        wordStart = true;
        found = c < 128 ? this.#chars[c] : undefined;
        if (found === undefined) {
          i++;
          continue;
        }
      }

      let resume = Infinity;
      let end = -1;
      let stop = false;
      for (const item of found) {
        let matcher: Matcher;
        if (words) {
          const { word, matcher: m } = item as WordEntry;
          if (word.length > 2 && !s.startsWith(word, i)) {
            if (!final && n - i < word.length && word.startsWith(s.slice(i))) {
              stop = true;
              break;
            }
            continue;
          }
          matcher = m;
        } else matcher = item as Matcher;
        if (!final && i + matcher.lookahead >= n) {
          stop = true;
          break;
        }
        const outcome = matcher.find(s, i, state.last);
        if (typeof outcome === 'number') {
          if (!final && outcome + SLACK >= n) {
            stop = true;
            break;
          }
          if (outcome < resume) resume = outcome;
          continue;
        }
        if (!final && outcome.end + SLACK >= n) {
          stop = true;
          break;
        }
        state.out += s.slice(state.last, outcome.start) + markerOf(outcome.category);
        if (counts !== undefined) counts[outcome.category] = (counts[outcome.category] ?? 0) + 1;
        state.last = outcome.end;
        end = outcome.end;
        break;
      }
      if (stop) break;
      if (end >= 0) {
        i = end > i ? end : i + 1;
        wordStart = !is(s.charCodeAt(i - 1), WORD);
      } else if (is(c, WORD)) {
        i++;
        while (i < n && is(s.charCodeAt(i), WORD)) i++;
        wordStart = false;
        if (resume > i && resume !== Infinity) {
          i = resume;
          wordStart = !is(s.charCodeAt(i - 1), WORD);
        }
      } else {
        i = resume !== Infinity && resume > i + 1 ? resume : i + 1;
        wordStart = !is(s.charCodeAt(i - 1), WORD);
      }
    }
    state.i = i;
    state.wordStart = wordStart;
  }
}
