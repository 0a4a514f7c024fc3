/*
 * classify/encryption_table.c -- which nDPI protocols carry protected data.
 *
 * One explicit table, one row per protocol the product makes a promise
 * about; tests/test_classify.c checks every row.  The README lists it.
 * nDPI ids are those of Debian's libndpi 4.2 (ndpi_protocol_ids.h).
 *
 * A protocol not in the table falls back to nDPI's own clear-text flag:
 * clear-text protocols are `cleartext`; the others are `unknown`, because
 * "not clear text" in nDPI means "probably encrypted", and a guess is never
 * enough to call a flow `encrypted`.
 */
#include "classify.h"

#include <ndpi/ndpi_api.h>
#include <string.h>

#define ROW(id, rule, why) {NDPI_PROTOCOL_##id, #id, CLASS_RULE_##rule, why}

static const struct class_table_row rows[] = {
	/* Encrypted, with strength read from the handshake. */
	ROW(TLS, TLS, "TLS: version and cipher from the ServerHello"),
	ROW(MAIL_SMTPS, TLS, "SMTP over implicit TLS (465)"),
	ROW(MAIL_IMAPS, TLS, "IMAP over implicit TLS (993)"),
	ROW(MAIL_POPS, TLS, "POP3 over implicit TLS (995)"),
	ROW(DOH_DOT, TLS, "DNS over TLS or HTTPS"),
	ROW(DTLS, DTLS, "DTLS: version and cipher from the ServerHello"),
	ROW(SSH, SSH, "SSH: encrypted once NEWKEYS is sent"),
	/* Encrypted by construction. */
	ROW(QUIC, ENCRYPTED, "QUIC: TLS 1.3 inside; nDPI decrypts the Initial to name it"),
	ROW(IP_IPSEC, ENCRYPTED, "IPsec ESP/IKE"),
	ROW(WIREGUARD, ENCRYPTED, "WireGuard: ChaCha20-Poly1305 after the handshake"),
	ROW(OPENVPN, ENCRYPTED, "OpenVPN over UDP: TLS control channel, AEAD or CBC data channel; proven by random data packets"),
	/* Cleartext unless upgraded with STARTTLS before the client sends data. */
	ROW(MAIL_SMTP, STARTTLS, "SMTP: STARTTLS before MAIL/DATA"),
	ROW(MAIL_IMAP, STARTTLS, "IMAP: STARTTLS before LOGIN"),
	ROW(MAIL_POP, STARTTLS, "POP3: STLS before USER"),
	ROW(FTP_CONTROL, STARTTLS, "FTP: AUTH TLS before USER"),
	ROW(JABBER, STARTTLS, "XMPP: <starttls/> before <auth>"),
	ROW(MYSQL, STARTTLS, "MySQL: SSLRequest before the login"),
	ROW(POSTGRES, STARTTLS, "PostgreSQL: SSLRequest before the startup message"),
	ROW(LDAP, STARTTLS, "LDAP: StartTLS before any other operation (a SASL security layer is unknown)"),
	ROW(RDP, STARTTLS, "RDP: TLS or CredSSP negotiated in the X.224 exchange"),
	ROW(HTTP_CONNECT, STARTTLS, "HTTP CONNECT: judged by the tunnel's TLS"),
	/* Cleartext. */
	ROW(HTTP, CLEARTEXT, "HTTP"),
	ROW(HTTP_PROXY, CLEARTEXT, "HTTP through a proxy"),
	ROW(FTP_DATA, CLEARTEXT, "FTP data channel"),
	ROW(TELNET, CLEARTEXT, "Telnet"),
	ROW(NFS, CLEARTEXT, "NFS (no RPCSEC_GSS privacy seen)"),
	ROW(SMBV1, CLEARTEXT, "SMB1"),
	ROW(SMBV23, CLEARTEXT, "SMB2/3 (encryption not negotiated in what nDPI sees)"),
	ROW(TFTP, CLEARTEXT, "TFTP"),
	ROW(MQTT, CLEARTEXT, "MQTT without TLS"),
	ROW(SIP, CLEARTEXT, "SIP"),
	ROW(IRC, CLEARTEXT, "IRC"),
	ROW(SNMP, CLEARTEXT, "SNMP"),
	ROW(DNS, CLEARTEXT, "plain DNS"),
	ROW(MDNS, CLEARTEXT, "multicast DNS"),
	ROW(LLMNR, CLEARTEXT, "LLMNR"),
	ROW(NETBIOS, CLEARTEXT, "NetBIOS"),
	ROW(NTP, CLEARTEXT, "NTP"),
	ROW(SYSLOG, CLEARTEXT, "syslog"),
	ROW(RTSP, CLEARTEXT, "RTSP"),
	ROW(RTP, CLEARTEXT, "RTP (SRTP cannot be told apart by nDPI 4.2)"),
	ROW(RSYNC, CLEARTEXT, "rsync daemon protocol"),
	ROW(VNC, CLEARTEXT, "VNC (RFB has no transport encryption)"),
	ROW(REDIS, CLEARTEXT, "Redis"),
	ROW(MEMCACHED, CLEARTEXT, "memcached"),
	ROW(DHCP, CLEARTEXT, "DHCP"),
	ROW(IP_ICMP, CLEARTEXT, "ICMP: payload visible"),
	ROW(IP_ICMPV6, CLEARTEXT, "ICMPv6: payload visible"),
	ROW(IP_GRE, CLEARTEXT, "GRE whose inner packet was not decoded"),
	ROW(IP_IP_IN_IP, CLEARTEXT, "IP in IP whose inner packet was not decoded"),
	ROW(COAP, CLEARTEXT, "CoAP"),
	ROW(MODBUS, CLEARTEXT, "Modbus"),
	ROW(BITTORRENT, CLEARTEXT, "BitTorrent (payload not encrypted by default)"),
};

const struct class_table_row *class_table(size_t *n)
{
	*n = sizeof(rows) / sizeof(rows[0]);
	return rows;
}

enum class_rule class_rule_of(uint16_t ndpi_id, bool ndpi_says_cleartext)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].ndpi_id == ndpi_id)
			return rows[i].rule;
	return ndpi_says_cleartext ? CLASS_RULE_CLEARTEXT : CLASS_RULE_UNKNOWN;
}

const char *class_rule_name(enum class_rule r)
{
	static const char *const names[] = {"cleartext", "encrypted", "tls", "dtls", "ssh", "starttls", "unknown"};

	return (unsigned)r <= CLASS_RULE_UNKNOWN ? names[r] : "?";
}

/*
 * Effective symmetric strength, read off the IANA name that nDPI gives the
 * suite ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").  3DES counts as 112 bits
 * (meet-in-the-middle), and is weak in any case under the product's rule.
 */
uint16_t tls_cipher_bits(uint16_t suite, const char **name_out, bool *weak_out)
{
	static const struct {
		const char *token;
		uint16_t bits;
		bool weak;
	} parts[] = {
		{"_NULL", 0, true},     {"EXPORT1024", 56, true}, {"EXPORT", 40, true},
		{"RC4_40", 40, true},   {"RC4_128", 128, true},  {"RC2", 40, true},
		{"DES40", 40, true},    {"3DES", 112, true},     {"DES_CBC", 56, true},
		{"AES_128", 128, false}, {"AES_256", 256, false}, {"CHACHA20", 256, false},
		{"CAMELLIA_128", 128, false}, {"CAMELLIA_256", 256, false},
		{"ARIA_128", 128, false}, {"ARIA_256", 256, false},
		{"SEED", 128, false},   {"IDEA", 128, false},    {"SM4", 128, false},
		{"GOST", 256, false},
	};
	const char *name = ndpi_cipher2str(suite);
	const char *with = strstr(name, "_WITH_");
	const char *cipher = with ? with + 5 : name; /* TLS 1.3 names have no _WITH_ */

	if (name_out)
		*name_out = name;
	if (strncmp(name, "TLS_", 4) == 0) {
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			if (strstr(cipher, parts[i].token)) {
				*weak_out = parts[i].weak;
				return parts[i].bits;
			}
		}
	}
	*weak_out = true; /* a suite nDPI cannot name: fail closed */
	return 0;
}
