#!/bin/sh
# Makes text-cert.der (9,000 bytes of text) and big-cert.der (14,600 bytes) in this folder.
set -e
mk() { # $1 = bytes of text, $2 = output
python3 -c "
base='CONFIDENTIAL: rotor blade alloy spec, rev 7. Leading edge to 0.02 mm, heat-treated at 1040 C for four hours, shot-peened on both faces. '
t=''; i=0
while len(t)<$1: t+='Line %04d: '%i+base; i+=1
print(t[:$1])" > /tmp/secret.$$
printf '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=client.example.cn\n[ext]\nnsComment=%s\n' "$(cat /tmp/secret.$$)" > /tmp/cnf.$$
openssl req -x509 -newkey rsa:2048 -nodes -keyout /tmp/key.$$ -config /tmp/cnf.$$ -extensions ext -days 30 -outform DER -out "$2" 2>/dev/null
rm -f /tmp/secret.$$ /tmp/cnf.$$ /tmp/key.$$
}
mk 9000 text-cert.der
mk 14600 big-cert.der
