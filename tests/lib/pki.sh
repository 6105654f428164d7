# SPDX-License-Identifier: MIT
# A throwaway PKI for the TLS tests (source it; needs openssl): pki_init DIR sets
# PKI=DIR with an openssl ca database (for revocations and CRLs), pki_ca makes a
# CA, pki_cert a leaf signed by one. Every function returns non-zero on failure so
# that a test can skip when openssl cannot do it.

pki_init() { # DIR
	PKI=$1
	mkdir -p "$PKI" && : >"$PKI/index.txt" && echo 01 >"$PKI/crlnumber" || return 1
	cat >"$PKI/ca.cnf" <<EOC
[ ca ]
default_ca = d
[ d ]
database = $PKI/index.txt
new_certs_dir = $PKI
certificate = $PKI/ca.pem
private_key = $PKI/ca.key
serial = $PKI/serial
crlnumber = $PKI/crlnumber
default_md = sha256
default_crl_days = 30
policy = p
[ p ]
commonName = supplied
EOC
}

pki_ca() { # NAME
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$1" -keyout "$PKI/$1.key" \
		-out "$PKI/$1.pem" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1
}

pki_cert() { # NAME SUBJECT EKU [CA] [DAYS] [SAN]
	openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$PKI/$1.key" -out "$PKI/$1.csr" \
		>/dev/null 2>&1 &&
		printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=%s\n%s\n' "$3" "${6:-}" >"$PKI/$1.ext" &&
		openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/${4:-ca}.pem" -CAkey "$PKI/${4:-ca}.key" \
			-CAcreateserial -days "${5:-30}" -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" \
			>/dev/null 2>&1
}

pki_revoke() { # NAME: revoke it and write $PKI/crl.pem
	openssl ca -config "$PKI/ca.cnf" -revoke "$PKI/$1.pem" >/dev/null 2>&1 &&
		openssl ca -config "$PKI/ca.cnf" -gencrl -out "$PKI/crl.pem" >/dev/null 2>&1
}
