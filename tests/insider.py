"""tests/insider.py -- the hostile insider of tests/e2e_insider.sh: a few
lines of Python per attack on the gate, each sending a marker that must not
reach the "CN" server, plus a fake SSH server and the soak's client.
Every socket operation is bounded by a timeout; errors (resets) end an
attack quietly, since a refused attack is the expected outcome."""
import asyncio
import os
import random
import socket
import ssl
import struct
import sys
import time


def tcp(addr, port, sport=0, timeout=4.0):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if sport:
        s.bind(("", sport))
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def reset_close(s):
    """Close with a RST: no TIME-WAIT, so the source port is free at once."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def hello_record(body):
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def fake_client_hello(size=0):
    """A ClientHello's shape; size pads it, like a post-quantum key share."""
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    pad = max(0, size - len(body) - 15)
    body += (4 + pad).to_bytes(2, "big") + b"\x00\x15" + pad.to_bytes(2, "big") + b"\x00" * pad
    return hello_record(body)


def sendall_quietly(s, data, until):
    try:
        while data and time.time() < until:
            n = s.send(data)
            data = data[n:]
    except OSError:
        pass


def hello_flood(addr, port, mark, count):
    """Item 2: a ClientHello, then every segment shaped like one."""
    s = tcp(addr, port)
    until = time.time() + 4
    sendall_quietly(s, fake_client_hello(), until)
    time.sleep(0.05)
    filler = (mark + ":").encode() * 40
    for _ in range(count):
        if time.time() > until:
            break
        sendall_quietly(s, hello_record(filler[:1200]), until)
        time.sleep(0.002)
    reset_close(s)


def hello_then_text(addr, port, mark):
    """The one hello, then readable continuation: at most the bound passes."""
    s = tcp(addr, port)
    until = time.time() + 3
    # A hello that fills a packet may have one continuation segment.
    sendall_quietly(s, fake_client_hello(1400), until)
    sendall_quietly(s, (mark + ":").encode() * 4000, until)
    reset_close(s)


def upload(s, mark, size, until):
    body = ((mark + ":") * (size // (len(mark) + 1) + 1)).encode()[:size]
    head = b"POST /upload HTTP/1.1\r\nHost: cn\r\nContent-Length: %d\r\n\r\n" % len(body)
    sendall_quietly(s, head + body, until)
    try:
        return s.recv(100)
    except OSError:
        return b""


def silent_then_reconnect(addr, port, sport, phase, mark):
    """Item 1: a connection that sends nothing and resets; later the same
    source port connects again and uploads."""
    if phase == "first":
        s = tcp(addr, port, sport)
        time.sleep(0.3)
        reset_close(s)
        return
    s = tcp(addr, port, sport)
    got = upload(s, mark, 40000, time.time() + 4)
    reset_close(s)
    print("answer: %r" % got[:40])


def reuse_after_tls(addr, port, sport, mark):
    """Item 14: a real HTTPS connection, reset, and the same 5-tuple at once
    again, in cleartext."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = tcp(addr, port, sport, timeout=8)
    t = ctx.wrap_socket(s)
    t.sendall(b"GET /bytes/10 HTTP/1.0\r\n\r\n")
    got = b""
    try:
        while True:
            b = t.recv(4096)
            if not b:
                break
            got += b
    except OSError:
        pass
    print("tls answer: %r" % got[:12])
    reset_close(t)
    s = tcp(addr, port, sport)
    got = upload(s, mark, 40000, time.time() + 4)
    reset_close(s)
    print("cleartext answer: %r" % got[:40])


def connect_wait_upload(addr, port, sport, mark, go_file):
    """A connection made, then idle until go_file exists, then an upload:
    the test changes the kernel's sets in between."""
    s = tcp(addr, port, sport, timeout=20)
    until = time.time() + 15
    while not os.path.exists(go_file) and time.time() < until:
        time.sleep(0.05)
    got = upload(s, mark, 20000, time.time() + 3)
    reset_close(s)
    print("answer: %r" % got[:40])


def ssh_packet(msg, body):
    pad = 4
    while (4 + 1 + 1 + len(body) + pad) % 8:
        pad += 1
    plen = 1 + 1 + len(body) + pad
    return struct.pack(">IBB", plen, pad, msg) + body + b"\x00" * pad


def ssh_smuggle(addr, port, mark):
    """Item 3: after the banners, well-framed key-exchange packets that
    carry the marker, for as long as the gate lets them (at most 10 s)."""
    s = tcp(addr, port)
    until = time.time() + 10
    try:
        s.recv(100)
    except OSError:
        pass
    sendall_quietly(s, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", until)
    sendall_quietly(s, ssh_packet(20, os.urandom(16) + b"\x00\x00\x00\x1acurve25519-sha256,ext-info" + b"\x00" * 60), until)
    chunk = ssh_packet(30, ((mark + ":").encode() * 30)[:1000])
    while time.time() < until:
        try:
            s.send(chunk)
        except socket.timeout:
            continue
        except OSError:
            break
        time.sleep(0.005)
    reset_close(s)


def ssh_server(port):
    """Sends a banner and a KEXINIT, then reads whatever comes."""
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        try:
            c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            c.sendall(ssh_packet(20, os.urandom(16) + b"\x00\x00\x00\x11curve25519-sha256" + b"\x00" * 70))
            c.settimeout(15)
            while c.recv(65536):
                pass
        except OSError:
            pass
        c.close()


def quic_then_text(addr, port, mark):
    """Item 5: a QUIC v1 long header on 1200 random bytes, then cleartext."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.send(bytes([0xc3]) + b"\x00\x00\x00\x01" + b"\x08" + os.urandom(8) + b"\x08" + os.urandom(8) + os.urandom(1180))
    time.sleep(0.3)
    for _ in range(40):
        s.send(((mark + ":").encode() * 20)[:600])
        time.sleep(0.05)


def udp_text(addr, port, mark, seconds):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((addr, port))
    until = time.time() + seconds
    while time.time() < until:
        s.send(((mark + ":").encode() * 20)[:600])
        time.sleep(0.1)


def esp_null(addr, mark, count):
    """Item 6 on the wire: ESP (IP protocol 50) with NULL encryption, as
    `ip xfrm ... enc ecb(cipher_null) ""' sends it: SPI, sequence number,
    the inner UDP datagram in the clear, padding, pad length, next header."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
    text = ((mark + ":").encode() * 20)[:600]
    inner = struct.pack(">HHHH", 40000, 9999, 8 + len(text), 0) + text
    pad = (-(len(inner) + 2)) % 4
    for seq in range(1, count + 1):
        s.sendto(struct.pack(">II", 0x1001, seq) + inner + bytes(range(1, pad + 1)) + bytes([pad, 17]), (addr, 0))
        time.sleep(0.1)


def udp_flood(addr, seconds):
    """Item 12: a copy flood, every datagram a new flow (new port pair)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    until = time.time() + seconds
    n, port = 0, 1
    payload = os.urandom(64)
    while time.time() < until:
        for _ in range(256):
            port = port % 65535 + 1
            try:
                s.sendto(payload, (addr, port))
            except OSError:
                pass
        n += 256
    print("sent %d datagrams" % n)


async def serve_one(r, w):
    try:
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 10)
        n = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                n = int(line.split(b":")[1])
        if n:
            await asyncio.wait_for(r.readexactly(n), 10)
        body = b"x" * 100 if head.startswith(b"GET") else b"received %d bytes\n" % n
        w.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await w.drain()
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError, ValueError):
        pass
    w.close()


async def soak_server(port, cert, key):
    """The soak's server: HTTP (and HTTPS with a certificate) that takes
    hundreds of connections at once, handshakes included."""
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    srv = await asyncio.start_server(serve_one, host=None, port=port, ssl=ctx, backlog=4096)
    async with srv:
        await srv.serve_forever()


async def soak_one(kind, addr, port, sport, ctx, stats):
    try:
        fam = socket.AF_INET
        sock = socket.socket(fam, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sport:
            sock.bind(("", sport))
        sock.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (addr, port)), 5)
        except (OSError, asyncio.TimeoutError):
            # a connection attempt that never opened: the engine's evidence
            # shows it as a flow with nothing sent, counted apart
            stats["attempt", kind] = stats.get(("attempt", kind), 0) + 1
            raise
        r, w = await asyncio.wait_for(asyncio.open_connection(sock=sock, ssl=ctx,
                                                              server_hostname="cn" if ctx else None), 8)
        if kind == "https-cn":
            w.write(b"GET /bytes/100 HTTP/1.0\r\n\r\n")
        elif kind == "http-us":
            w.write(b"GET /bytes/100 HTTP/1.0\r\n\r\n")
        else:
            w.write(b"POST /upload HTTP/1.0\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000)
        data = await asyncio.wait_for(r.read(), 8)
        ok = b"200" in data[:20]
        if sport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        w.close()
    except (OSError, asyncio.TimeoutError, ssl.SSLError, ConnectionError) as e:
        ok = False
        why = "%s/%s" % (kind, type(e).__name__)
        stats["why", why] = stats.get(("why", why), 0) + 1
    stats[kind, ok] = stats.get((kind, ok), 0) + 1


async def soak(cn, us, n_each, reuse_every, concurrency):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    jobs = []
    for i in range(n_each):
        jobs.append(("https-cn", cn, 8444, 0, ctx))
        jobs.append(("http-us", us, 8081, 0, None))
        # Some cleartext connections reuse a source port from a small pool,
        # closed with a reset, so the same 5-tuple comes back within seconds.
        sport = 20000 + (i // reuse_every) % 50 if reuse_every and i % reuse_every == 0 else 0
        jobs.append(("http-cn", cn, 8081, sport, None))
    random.Random(8).shuffle(jobs)
    stats = {}
    sem = asyncio.Semaphore(concurrency)
    busy = set()

    async def run(job):
        async with sem:
            sport = job[3]
            while sport and sport in busy:
                await asyncio.sleep(0.01)
            if sport:
                busy.add(sport)
            try:
                await soak_one(job[0], job[1], job[2], sport, job[4], stats)
            finally:
                busy.discard(sport)
    await asyncio.gather(*(run(j) for j in jobs))
    for k in sorted(stats, key=str):
        if k[0] in ("why", "attempt"):
            print("%s %s %d" % (k[0] if k[0] == "why" else "attempt-failed", k[1], stats[k]))
        else:
            print("%s %s %d" % (k[0], "ok" if k[1] else "failed", stats[k]))


def main():
    a = sys.argv[1:]
    cmd = a[0]
    if cmd == "hello-flood":
        hello_flood(a[1], int(a[2]), a[3], int(a[4]))
    elif cmd == "hello-then-text":
        hello_then_text(a[1], int(a[2]), a[3])
    elif cmd == "silent-then-reconnect":
        silent_then_reconnect(a[1], int(a[2]), int(a[3]), a[4], a[5])
    elif cmd == "reuse-after-tls":
        reuse_after_tls(a[1], int(a[2]), int(a[3]), a[4])
    elif cmd == "connect-wait-upload":
        connect_wait_upload(a[1], int(a[2]), int(a[3]), a[4], a[5])
    elif cmd == "ssh-smuggle":
        ssh_smuggle(a[1], int(a[2]), a[3])
    elif cmd == "ssh-server":
        ssh_server(int(a[1]))
    elif cmd == "quic-then-text":
        quic_then_text(a[1], int(a[2]), a[3])
    elif cmd == "udp-text":
        udp_text(a[1], int(a[2]), a[3], float(a[4]))
    elif cmd == "esp-null":
        esp_null(a[1], a[2], int(a[3]))
    elif cmd == "udp-flood":
        udp_flood(a[1], float(a[2]))
    elif cmd == "soak-server":
        asyncio.run(soak_server(int(a[1]), a[2] if len(a) > 2 else None, a[3] if len(a) > 3 else None))
    elif cmd == "soak":
        asyncio.run(soak(a[1], a[2], int(a[3]), int(a[4]), int(a[5])))
    else:
        sys.exit("insider.py: unknown command %r" % cmd)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ssl.SSLError) as e:
        print("insider.py: %s" % e)
