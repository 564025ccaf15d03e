# udp.py send SRC_IP SRC_PORT DST_IP DST_PORT  -> prints what the server saw
# udp.py serve IP PORT...                       -> echoes the peer address back
import socket, sys, select
if sys.argv[1] == 'serve':
    ip = sys.argv[2]; socks = []
    for p in sys.argv[3:]:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((ip, int(p))); socks.append(s)
    while True:
        for s in select.select(socks, [], [])[0]:
            d, a = s.recvfrom(2048)
            try: s.sendto(f'{a[0]}:{a[1]}'.encode(), a)
            except OSError as e: print('reply to', a, 'failed:', e, flush=True)
else:
    _, sip, sp, dip, dp = sys.argv[1:6]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sip, int(sp))); s.settimeout(3)
    for dst in dp.split(','):
        s.sendto(b'x', (dip, int(dst)))
        try: print(f'{sip}:{sp} -> {dip}:{dst} seen as', s.recvfrom(2048)[0].decode())
        except socket.timeout: print(f'{sip}:{sp} -> {dip}:{dst} TIMEOUT')
