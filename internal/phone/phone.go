// Package phone parses phone numbers typed by employees into E.164 form and
// masks them for display.
//
// Only numbers that can receive a text message are accepted: the parser
// refuses landlines, toll-free, premium-rate, shared-cost, VoIP, personal,
// pager, UAN and voicemail numbers, short codes and emergency numbers. Numbers
// are carried through the rest of the program as plain E.164 strings such as
// "+14155550143"; this package has no number type of its own.
//
// Every function in this package is safe for concurrent use.
package phone

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"deadbolt/internal/deadbolt"
)

// Error codes carried by *Error. They are stable and may be shown to API
// clients.
const (
	// CodeInvalid: the input is not a phone number Deadbolt can parse.
	CodeInvalid = "phone_invalid"
	// CodeNotMobile: a real number, but one that cannot receive SMS
	// (landline, toll-free, VoIP, pager, short code, emergency number, …).
	CodeNotMobile = "phone_not_mobile"
	// CodePremium: a premium-rate or shared-cost number, which costs the
	// sender money and is the usual target of SMS pumping.
	CodePremium = "phone_premium"
)

// Limits on raw input, applied before any parsing.
const (
	// MaxInputBytes is the longest input Parse looks at.
	MaxInputBytes = 64
	// MaxDigits is the largest number of digits Parse accepts.
	MaxDigits = 20
)

// Messages shown to the employee. They never repeat the input.
var (
	msgEmpty      = deadbolt.Phrase("Enter a phone number.")
	msgTooLong    = deadbolt.Phrase("This phone number is too long.")
	msgCharacters = deadbolt.Phrase("A phone number may contain only digits, spaces, brackets, dots, hyphens and a leading +.")
	msgLetters    = deadbolt.Phrase("Enter the phone number as digits; letters are not allowed.")
	msgInvalid    = deadbolt.Phrase("This is not a valid phone number. Check it, and include the country code (for example +44) if the number is from another country.")
	msgNotMobile  = deadbolt.Phrase("This number cannot receive text messages. Enter a mobile phone number.")
	msgVoIP       = deadbolt.Phrase("Internet (VoIP) numbers cannot be used. Enter a mobile phone number.")
	msgShort      = deadbolt.Phrase("Short codes and emergency numbers cannot be used. Enter a mobile phone number.")
	msgPremium    = deadbolt.Phrase("Premium-rate and shared-cost numbers cannot be used. Enter a mobile phone number.")
)

// Error is the error returned by Parse. Code is one of CodeInvalid,
// CodeNotMobile or CodePremium; Message is a sentence fit to show the
// employee who typed the number. Neither contains the input.
type Error struct {
	Code    string
	Message string
	// Words are Message, for translation.
	Words deadbolt.Words
}

// Error returns "phone: <code>: <message>".
func (e *Error) Error() string {
	return "phone: " + e.Code + ": " + e.Message
}

func newError(code string, msg deadbolt.Words) *Error {
	return &Error{Code: code, Message: msg.String(), Words: msg}
}

// Parse parses a phone number typed by a person and returns it in E.164 form
// ("+14155550143").
//
// Numbers written without an international prefix are read as national
// numbers of defaultRegion, an ISO 3166-1 alpha-2 code such as "US"
// (case-insensitive; an empty or unknown region means only international
// forms are accepted). The input may contain spaces, brackets, dots and
// hyphens, and may start with "+", with defaultRegion's own international
// dialling prefix (such as "011" in the US or "0011" in Australia), or
// with "00" (read as "+" when defaultRegion's rules find no number).
// Fullwidth digits and the fullwidth plus sign (as typed with East Asian
// input methods) are read as their ASCII forms; digits of other scripts are
// refused.
//
// Parse refuses, with an *Error of code CodeInvalid: empty input, input
// longer than MaxInputBytes bytes or with more than MaxDigits digits, letters
// (vanity numbers, extensions), control and formatting characters (CR, LF,
// NUL, tab, bidirectional marks), any other character, and numbers that are
// not valid. It refuses with CodePremium premium-rate and shared-cost
// numbers, and with CodeNotMobile every other number that is not of type
// mobile or fixed-line-or-mobile: landlines, toll-free, VoIP (not tied to
// a physical device, which NIST SP 800-63B requires of numbers receiving
// out-of-band codes), personal, pager, UAN and voicemail numbers, short
// codes and emergency numbers.
//
// Every number Parse returns parses back to itself with any region.
func Parse(input, defaultRegion string) (string, error) {
	if len(input) > MaxInputBytes {
		return "", newError(CodeInvalid, msgTooLong)
	}
	clean, digits, cerr := clean(input)
	if cerr != nil {
		return "", cerr
	}
	if digits == 0 {
		return "", newError(CodeInvalid, msgEmpty)
	}
	if digits > MaxDigits {
		return "", newError(CodeInvalid, msgTooLong)
	}
	region := strings.ToUpper(defaultRegion)
	if !ValidRegion(region) {
		region = ""
	}
	e164, perr := parseDigits(clean, region)
	// "00" is the international prefix of most of the world, but not of
	// every region (the US dials 011; Australia 0011, which also starts with
	// 00). Read it as "+" only when the region's own rules found no number.
	if perr != nil && perr.Code == CodeInvalid && strings.HasPrefix(clean, "00") {
		e164, perr = parseDigits("+"+clean[2:], region)
	}
	if perr != nil {
		return "", perr
	}
	return e164, nil
}

// parseDigits parses s, an optional "+" and ASCII digits, read from region.
func parseDigits(s, region string) (string, *Error) {
	if !strings.HasPrefix(s, "+") && region != "" &&
		phonenumbers.IsEmergencyNumber(s, region) {
		return "", newError(CodeNotMobile, msgShort)
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", newError(CodeInvalid, msgInvalid)
	}
	if num.GetExtension() != "" {
		return "", newError(CodeInvalid, msgCharacters)
	}
	if !phonenumbers.IsValidNumber(num) {
		if phonenumbers.IsValidShortNumber(num) {
			return "", newError(CodeNotMobile, msgShort)
		}
		return "", newError(CodeInvalid, msgInvalid)
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	case phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST:
		return "", newError(CodePremium, msgPremium)
	case phonenumbers.VOIP:
		return "", newError(CodeNotMobile, msgVoIP)
	default:
		return "", newError(CodeNotMobile, msgNotMobile)
	}

	e164 := phonenumbers.Format(num, phonenumbers.E164)
	// Refuse anything whose canonical form would not come back unchanged,
	// so that the stored form is a fixed point (uniqueness depends on it).
	again, err := phonenumbers.Parse(e164, "")
	if err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 ||
		!phonenumbers.IsValidNumber(again) {
		return "", newError(CodeInvalid, msgInvalid)
	}
	return e164, nil
}

// clean checks every character of input and returns it reduced to an
// optional leading "+" followed by ASCII digits, with the digit count.
func clean(input string) (string, int, *Error) {
	var b strings.Builder
	digits := 0
	seenPlus := false
	for _, r := range input {
		switch {
		case r == utf8.RuneError:
			return "", 0, newError(CodeInvalid, msgCharacters)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
			digits++
		case r == '+' || r == '＋':
			if seenPlus || b.Len() > 0 {
				return "", 0, newError(CodeInvalid, msgCharacters)
			}
			seenPlus = true
			b.WriteByte('+')
		case r == ' ' || r == '(' || r == ')' || r == '.' || r == '-':
			// Separators carry no meaning once digits are read.
		case unicode.IsLetter(r):
			return "", 0, newError(CodeInvalid, msgLetters)
		default:
			return "", 0, newError(CodeInvalid, msgCharacters)
		}
	}
	return b.String(), digits, nil
}

// ValidRegion reports whether region is an ISO 3166-1 alpha-2 code
// (case-insensitive) for which phone numbers can be parsed. Use it to check
// the default-region setting at start.
func ValidRegion(region string) bool {
	if len(region) != 2 {
		return false
	}
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(region)]
}

// Hidden is the character that stands for a hidden digit in a masked
// number.
const Hidden = "•"

// Mask returns e164 for display with every digit but the country code and
// the last four hidden, laid out the way the number's country writes it:
// "+1 (•••) •••-0143" for "+14155550143" (North America writes the area
// code in brackets), "+7 ••• •••-67-89" for "+79123456789", "+44 ••••
// ••3456" for "+447400123456" (the international format of
// libphonenumber). The hidden digits keep their places, so the length of
// the number stays visible. A number libphonenumber has no layout for gets
// groups of three and the last four together. Mask returns "•••" for anything that is not
// an E.164 number with a known country code and at least six national
// digits. It is safe for concurrent use.
func Mask(e164 string) string {
	none := strings.Repeat(Hidden, 3)
	if len(e164) < 2 || len(e164) > 16 || e164[0] != '+' || e164[1] == '0' {
		return none
	}
	for i := 1; i < len(e164); i++ {
		if e164[i] < '0' || e164[i] > '9' {
			return none
		}
	}
	cc := countryCode(e164[1:])
	if cc == "" {
		return none
	}
	national := e164[1+len(cc):]
	if len(national) < 6 {
		return none
	}
	hidden := len(national) - 4
	var b strings.Builder
	b.WriteString("+" + cc + " ")
	seen := 0
	for _, r := range layout(e164, cc, national) {
		if r < '0' || r > '9' {
			b.WriteRune(r)
			continue
		}
		if seen < hidden {
			b.WriteString(Hidden)
		} else {
			b.WriteRune(r)
		}
		seen++
	}
	return b.String()
}

// layout returns the national digits of e164 grouped as its country
// writes them in international form (North American numbers as
// "(415) 555-0143"), or in groups of three with the last four together
// when libphonenumber knows no layout that keeps exactly these digits.
func layout(e164, cc, national string) string {
	if num, err := phonenumbers.Parse(e164, ""); err == nil {
		var s string
		if cc == "1" {
			s = phonenumbers.Format(num, phonenumbers.NATIONAL)
		} else {
			s, _ = strings.CutPrefix(phonenumbers.Format(num, phonenumbers.INTERNATIONAL), "+"+cc+" ")
		}
		if onlyDigits(s) == national {
			return s
		}
	}
	var b strings.Builder
	head := national[:len(national)-4]
	for i := 0; i < len(head); i += 3 {
		b.WriteString(head[i:min(i+3, len(head))])
		b.WriteByte(' ')
	}
	b.WriteString(national[len(head):])
	return b.String()
}

// onlyDigits returns the ASCII digits of s.
func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// countryCode returns the country calling code that digits starts with, or
// "" if none is known. Country codes are one to three digits long and no code
// is a prefix of another.
func countryCode(digits string) string {
	codes := phonenumbers.GetSupportedCallingCodes()
	for n := 1; n <= 3 && n < len(digits); n++ {
		v := 0
		for _, c := range digits[:n] {
			v = v*10 + int(c-'0')
		}
		if codes[v] {
			return digits[:n]
		}
	}
	return ""
}
