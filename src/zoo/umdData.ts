import { UnsupportedModelError } from '../base/errors.js';

/**
 * Reads the value that a one-module browserify bundle exports, without running any of it.
 *
 * nsfwjs ships its model as such bundles: a UMD prelude, then a module map whose single module is
 * `{1:[function(e,a,n){a.exports=<literal>},{}]}`. model.min.js exports the model.json object (minified:
 * unquoted keys, `!0`/`!1` for booleans, `.5` numbers) and each group…shard….min.js the shard bytes as a
 * base64 string. This finds that module, checks that its body is the one `module.exports = <literal>`
 * assignment and nothing else, and parses the literal with a strict parser for plain data:
 *
 * - objects `{key: value, …}` with identifier, string or number keys (no computed keys, methods, spreads,
 *   getters or shorthand properties), arrays without holes, strings in '…' or "…" with JSON's escapes plus
 *   `\'`, `\v`, `\0`, `\xHH` and `\u{…}`;
 * - decimal numbers (`-1.5e-3`, `.5`, `5.`), `true`, `false`, `null`, and the minifier's `!0` / `!1`.
 *
 * Anything else (an identifier, a call, an operator, a template, a regular expression, a second module, code
 * after the assignment) is refused with an UnsupportedModelError naming the file: the data is never
 * evaluated, so a tampered file can at worst fail to load.
 */
export function readBrowserifyExport(source: string, file: string): unknown {
  const header = /\{\s*1\s*:\s*\[\s*function\s*\(\s*([A-Za-z_$][\w$]*)\s*,\s*([A-Za-z_$][\w$]*)\s*,\s*([A-Za-z_$][\w$]*)\s*\)\s*\{/g;
  const matches = [...source.matchAll(header)];
  if (matches.length !== 1) {
    throw refuse(file, matches.length === 0 ? 'it has no browserify module 1' : 'it has more than one browserify module 1');
  }
  const match = matches[0]!;
  const moduleParam = match[2]!;
  let pos = match.index + match[0].length;
  const assignment = new RegExp(`^\\s*${moduleParam.replace(/\$/g, '\\$')}\\s*\\.\\s*exports\\s*=`).exec(source.slice(pos, pos + 200));
  if (assignment === null) throw refuse(file, 'its module does not start with `module.exports = <literal>`');
  pos += assignment[0].length;
  const parser = new LiteralParser(source, pos, file);
  const value = parser.parseValue(0);
  // The module body ends right after the assignment, the module has no dependencies, and it is the only module.
  const trailer = /^\s*;?\s*\}\s*,\s*\{\s*\}\s*\]\s*\}/.exec(source.slice(parser.pos, parser.pos + 200));
  if (trailer === null) {
    throw refuse(file, `its module does more than assign one literal to module.exports (at offset ${parser.pos})`);
  }
  return value;
}

function refuse(file: string, why: string): UnsupportedModelError {
  return new UnsupportedModelError(
    `${file} is not a data-only browserify bundle that memhooks can read: ${why}. memhooks reads the exported ` +
      `literal without running the file; only plain data (objects, arrays, strings, numbers, booleans, null) is accepted.`,
  );
}

/** Nesting deeper than this is refused rather than risking a stack overflow on hostile input. */
const MAX_DEPTH = 256;

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"', "'": "'", '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

class LiteralParser {
  pos: number;

  constructor(
    private readonly src: string,
    start: number,
    private readonly file: string,
  ) {
    this.pos = start;
  }

  parseValue(depth: number): unknown {
    if (depth > MAX_DEPTH) throw this.fail(`the literal nests deeper than ${MAX_DEPTH} levels`);
    this.skipSpace();
    const c = this.src[this.pos];
    switch (c) {
      case '{':
        return this.parseObject(depth);
      case '[':
        return this.parseArray(depth);
      case '"':
      case "'":
        return this.parseString();
      case '!': {
        // The minifier's booleans: !0 is true, !1 is false.
        const two = this.src.slice(this.pos, this.pos + 2);
        if ((two === '!0' || two === '!1') && !isDigit(this.src[this.pos + 2]) && this.src[this.pos + 2] !== '.') {
          this.pos += 2;
          return two === '!0';
        }
        throw this.fail('unexpected "!" (only !0 and !1 are accepted)');
      }
      default:
        if (c === '-' || c === '.' || isDigit(c)) return this.parseNumber();
        for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
          if (this.src.startsWith(word, this.pos) && !isIdentifierChar(this.src[this.pos + word.length])) {
            this.pos += word.length;
            return value;
          }
        }
        throw this.fail(c === undefined ? 'the file ends inside the literal' : `unexpected ${JSON.stringify(c)}`);
    }
  }

  private parseObject(depth: number): Record<string, unknown> {
    this.pos++; // {
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.eat('}')) return out;
    for (;;) {
      this.skipSpace();
      const key = this.parseKey();
      this.skipSpace();
      if (!this.eat(':')) throw this.fail(`expected ":" after key ${JSON.stringify(key)}`);
      // As JSON.parse does: every key, "__proto__" included, becomes an own data property.
      Object.defineProperty(out, key, { value: this.parseValue(depth + 1), writable: true, enumerable: true, configurable: true });
      this.skipSpace();
      if (this.eat('}')) return out;
      if (!this.eat(',')) throw this.fail('expected "," or "}" in an object');
      this.skipSpace();
      if (this.eat('}')) return out; // trailing comma
    }
  }

  private parseKey(): string {
    const c = this.src[this.pos];
    if (c === '"' || c === "'") return this.parseString();
    if (c !== undefined && (isDigit(c) || c === '.')) {
      const n = this.parseNumber();
      return String(n);
    }
    const m = /^[A-Za-z_$][\w$]*/.exec(this.src.slice(this.pos, this.pos + 256));
    if (m === null) throw this.fail(c === undefined ? 'the file ends inside an object' : `unexpected ${JSON.stringify(c)} where an object key was expected`);
    this.pos += m[0].length;
    return m[0];
  }

  private parseArray(depth: number): unknown[] {
    this.pos++; // [
    const out: unknown[] = [];
    this.skipSpace();
    if (this.eat(']')) return out;
    for (;;) {
      this.skipSpace();
      if (this.src[this.pos] === ',') throw this.fail('array holes are not accepted');
      out.push(this.parseValue(depth + 1));
      this.skipSpace();
      if (this.eat(']')) return out;
      if (!this.eat(',')) throw this.fail('expected "," or "]" in an array');
      this.skipSpace();
      if (this.eat(']')) return out; // trailing comma
    }
  }

  private parseString(): string {
    const quote = this.src[this.pos]!;
    let i = this.pos + 1;
    let out = '';
    for (;;) {
      // Copy runs without escapes in one slice: the shard strings are megabytes of base64.
      let j = i;
      while (j < this.src.length) {
        const ch = this.src[j];
        if (ch === quote || ch === '\\' || ch === '\n' || ch === '\r' || ch === '\u2028' || ch === '\u2029') break;
        j++;
      }
      out += this.src.slice(i, j);
      if (j >= this.src.length) {
        this.pos = j;
        throw this.fail('the file ends inside a string');
      }
      const ch = this.src[j]!;
      if (ch === quote) {
        this.pos = j + 1;
        return out;
      }
      if (ch !== '\\') {
        this.pos = j;
        throw this.fail('a line break inside a string');
      }
      const e = this.src[j + 1];
      if (e !== undefined && Object.hasOwn(SIMPLE_ESCAPES, e)) {
        out += SIMPLE_ESCAPES[e];
        i = j + 2;
      } else if (e === '0' && !isDigit(this.src[j + 2])) {
        out += '\0';
        i = j + 2;
      } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(this.src.slice(j + 2, j + 4))) {
        out += String.fromCharCode(parseInt(this.src.slice(j + 2, j + 4), 16));
        i = j + 4;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.src.slice(j + 2, j + 6))) {
        out += String.fromCharCode(parseInt(this.src.slice(j + 2, j + 6), 16));
        i = j + 6;
      } else if (e === 'u' && this.src[j + 2] === '{') {
        const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(this.src.slice(j + 2, j + 11));
        const code = m === null ? NaN : parseInt(m[1]!, 16);
        if (!(code <= 0x10ffff)) {
          this.pos = j;
          throw this.fail('an invalid \\u{…} escape');
        }
        out += String.fromCodePoint(code);
        i = j + 2 + m![0].length;
      } else if (e === '\n' || e === '\u2028' || e === '\u2029') {
        i = j + 2; // line continuation
      } else if (e === '\r') {
        i = this.src[j + 2] === '\n' ? j + 3 : j + 2;
      } else {
        this.pos = j;
        throw this.fail(`an unsupported escape ${JSON.stringify(`\\${e ?? ''}`)} in a string`);
      }
    }
  }

  private parseNumber(): number {
    const m = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(this.src.slice(this.pos, this.pos + 64));
    if (m === null || isIdentifierChar(this.src[this.pos + m[0].length]) || this.src[this.pos + m[0].length] === '.') {
      throw this.fail('an unsupported number');
    }
    // Legacy octal (010) means something else in sloppy-mode JS: refuse it rather than guess.
    if (/^-?0\d/.test(m[0])) throw this.fail('a number with a leading zero');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  private eat(ch: string): boolean {
    if (this.src[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  private fail(why: string): UnsupportedModelError {
    return refuse(this.file, `${why} at offset ${this.pos}`);
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && /[\w$]/.test(c);
}
