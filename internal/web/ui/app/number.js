// The push number as the companion app takes it: digits typed (or
// scanned) from the sign-in screen, exactly as many as the request says.
// The device is told how many digits to expect, never the number.

export const MIN_DIGITS = 6;
export const MAX_DIGITS = 8;

// requestDigits is the length of a request's number, from its "digits"
// field; a missing or out-of-range value falls back to the shortest.
export function requestDigits(request) {
  const n = request && request.digits;
  return Number.isInteger(n) && n >= MIN_DIGITS && n <= MAX_DIGITS ? n : MIN_DIGITS;
}

// onlyDigits keeps the first max digits of text and drops everything else.
export function onlyDigits(text, max) {
  return String(text).replace(/[^0-9]/g, "").slice(0, max);
}

// firstGroup is how many digits the first display group holds for a
// number of the given length: 6 → 3 (482 913), 7 → 4, 8 → 4.
function firstGroup(length) {
  return Math.ceil(length / 2);
}

// groupDigits shows digits in the groups the sign-in page shows them in,
// for a number that will be length digits long: "4829" → "482 9". The
// space is only shown; parseNumber ignores it.
export function groupDigits(digits, length) {
  const cut = firstGroup(length);
  return digits.length <= cut ? digits : digits.slice(0, cut) + " " + digits.slice(cut);
}

// parseNumber returns the number typed as text, or null unless it has
// exactly length digits (spaces aside) and no leading zero.
export function parseNumber(text, length) {
  const d = String(text).replace(/ /g, "");
  if (d.length !== length || !/^[1-9][0-9]*$/.test(d)) {
    return null;
  }
  return Number(d);
}

// scannedNumber returns the number a scanned QR code holds: just the
// digits, nothing else, exactly length of them; otherwise null.
export function scannedNumber(text, length) {
  const t = String(text).trim();
  return /^[0-9]+$/.test(t) ? parseNumber(t, length) : null;
}

// formatInput rewrites an input's value as grouped digits and keeps the
// caret after the same digit it followed.
export function formatInput(input, length) {
  const caret = input.selectionStart === null ? input.value.length : input.selectionStart;
  const before = onlyDigits(input.value.slice(0, caret), length).length;
  const grouped = groupDigits(onlyDigits(input.value, length), length);
  if (grouped !== input.value) {
    input.value = grouped;
    let pos = 0;
    for (let seen = 0; pos < grouped.length && seen < before; pos++) {
      if (grouped[pos] !== " ") seen++;
    }
    input.setSelectionRange(pos, pos);
  }
}
