// Package idnumber parses and validates resident identity card numbers
// (居民身份证号码, GB 11643-1999): the 18-character form with its ISO 7064
// MOD 11-2 check character, and the legacy 15-digit form, which it upgrades.
//
// A number that parses is well-formed, has the right check character, a
// real birth date after 1900 and not in the future, and a division code
// whose province part is known (GB/T 2260; 81/82/83 for the residence
// permits of Hong Kong, Macao and Taiwan residents). It is not thereby
// issued to anyone: only the issuing authority knows that.
//
// Errors are *Error values that say which character is wrong and why. For
// a wrong check character they say the number is invalid and do not say
// which character would be right: a number with a typo in its body and a
// "repaired" check character is a valid-looking number of someone else,
// and in a master patient index that is a wrong link. The computing of
// check characters is exported (CheckChar, Generate) for test data.
//
// The package depends on the standard library only.
package idnumber
