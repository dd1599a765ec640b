package web

import "encoding/base32"

var base32Std = base32.StdEncoding.WithPadding(base32.NoPadding)
