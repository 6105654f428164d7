#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
cs146_race.py SCENARIO_DIR LOG OURS_JSONL < crowdsec-1.4.6-trace-output

CrowdSec 1.4.6 is not deterministic on a replay: a blackholed overflow sends a
cleanup event {Mapkey} to the output routine (leakybucket/bucket.go overflow(),
blackhole.go returns RuntimeAlert{Mapkey} with no Alert), which later runs
buckets.Bucket_map.Delete(Mapkey) (cmd/crowdsec/output.go runOutput). When the
pour routine has already replaced the dead bucket by a new one for the same
partition (manager_run.go PourItemToBucket, "found dead"), that late Delete
orphans the new bucket: the events poured into it are lost and the next event
starts yet another bucket. Which partitions are hit changes from run to run.

This reads the -trace output of one 1.4.6 run, finds the partitions where a
bucket that had been poured into was replaced without overflowing or expiring
(the orphans), maps each partition back to (scenario, source) through the map
key sha1(filter + groupby + name) (leakybucket/buckets.go GetKey), and compares
the alerts (scenario, source, events_count) of both engines: on a pair 1.4.6
raced on, only the alerts that overflowed before the first event poured into
the orphaned bucket (before that, a partition's buckets and blackhole entries
depend on its own events only); on every other pair, all of them. A second, rarer race is caught too: PourItemToBucket reads Last_ts for
its expiry check while the bucket routine may still be pouring the previous
event, so a stale Last_ts can expire a live bucket ("bucket is expired" with a
deadline that is not the last pour + lifetime): that pair is left out as well.
A third one: the blackhole list is shared by all the buckets of a scenario
and rebuilt without a lock (blackhole.go OnBucketOverflow, bl.hiddenKeys = tmp)
by overflows running concurrently in their bucket routines, so an entry can be
lost and a partition alert again inside its blackhole window: from that
overflow on, the pair is left out too.
Prints a summary, the differences, exits 1 if any.
"""
import collections, datetime, glob, hashlib, json, re, sys

try:
    import yaml
except ImportError:  # no PyYAML: cannot map partitions back
    print("cs146_race.py: python3-yaml missing")
    sys.exit(2)

sdir, log, ours_jsonl = sys.argv[1:4]
filters, blackholes = {}, {}
for f in glob.glob(sdir + '/*.yaml'):
    for d in yaml.safe_load_all(open(f)):
        if isinstance(d, dict) and 'name' in d:
            filters[d['name']] = d.get('filter', '') or ''
            blackholes[d['name']] = str(d.get('blackhole', '') or '')
text = open(log, errors='replace').read()
srcs = set(re.findall(r'\b(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){2,7})\b', text))
keymap = {}
for name, flt in filters.items():
    for s in srcs:
        keymap[hashlib.sha1((flt + s + name).encode()).hexdigest()] = (name, s)

def go_duration(txt):
    units = {'h': 3600, 'm': 60, 's': 1, 'ms': 1e-3, 'us': 1e-6, 'µs': 1e-6, 'ns': 1e-9}
    return sum(float(n) * units[u] for n, u in re.findall(r'([0-9.]+)(ms|us|µs|ns|h|m|s)', txt))


def go_time(txt):  # "2026-03-02 00:05:23 +0000 UTC" (sub-seconds optional)
    m = re.match(r'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? ([+-]\d{4})', txt)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1) + ' ' + m.group(3), '%Y-%m-%d %H:%M:%S %z')
    return t.timestamp() + (float(m.group(2)) if m.group(2) else 0.0)


lifetime, lastpour, ovflw_at, bh_until = {}, {}, {}, {}
rx = re.compile(r'msg="([^"]*)".*?bucket_id=(\S+).*?partition=(\S+)')
alert_rx = re.compile(r'level=info msg="(?:Ip|Range) (\S+) performed \'([^\']*)\' \((\d+) events')
cur, theirs = {}, []
bad = {}	# (scenario, source) -> event time from which 1.4.6 raced (None: all)


def race(part, t):
    k = keymap.get(part, part)
    if k in bad and (bad[k] is None or (t is not None and bad[k] <= t)):
        return
    bad[k] = t

for line in sys.stdin:
    m = alert_rx.search(line) if 'level=info' in line else None
    if m:
        at = re.search(r'\) at (.*? UTC)', line)
        theirs.append((m.group(2), m.group(1), m.group(3), go_time(at.group(1)) if at else None))
        continue
    m = rx.search(line)
    if not m:
        continue
    msg, bid, part = m.groups()
    c = cur.get(part)
    if msg.startswith('Adding overflow to blackhole'):
        t, k = ovflw_at.get(part), keymap.get(part)
        if t is not None and part in bh_until and t < bh_until[part]:
            race(part, t)  # its blackhole entry was lost by a concurrent rebuild
        if t is not None and k:
            bh_until[part] = t + go_duration(blackholes.get(k[0], ''))
        continue
    if msg.startswith('Leaky routine starting'):
        if c and c[0] != bid and c[1] and not c[2]:
            race(part, c[3])
        cur[part] = [bid, False, False, None]
        lifetime[part, bid] = go_duration(msg.split(':', 1)[1])
    elif c and c[0] == bid:
        if msg.startswith('Time-Pouring'):
            lastpour[part, bid] = go_time(msg[len('Time-Pouring event '):])
            if not c[1]:
                c[1], c[3] = True, lastpour[part, bid]
        elif msg.startswith('Bucket overflow at'):
            c[2] = True
            ovflw_at[part] = go_time(msg[len('Bucket overflow at '):])
        elif msg.startswith('bucket is expired'):
            c[2] = True
            m = re.search(r'bucket deadline: ([^)]*)\)', msg)
            dl = go_time(m.group(1)) if m else None
            lp = lastpour.get((part, bid))
            if dl is None or lp is None or abs(dl - (lp + lifetime.get((part, bid), 0))) > 1e-6:
                # stale Last_ts: a spurious expiry, from the current event on
                m = re.search(r'curr event: ([^,]*),', msg)
                race(part, go_time(m.group(1)) if m else None)

def rfc3339(txt):
    return datetime.datetime.fromisoformat(txt.replace('Z', '+00:00')).timestamp()


ours = []
for l in open(ours_jsonl):
    j = json.loads(l)
    ours.append((j['scenario'], j['source']['value'], str(j['events_count']), rfc3339(j['stop_at'])))


def kept(a):
    k = (a[0], a[1])
    if k not in bad:
        return True
    return bad[k] is not None and a[3] is not None and a[3] < bad[k]


A = collections.Counter(a[:3] for a in theirs if kept(a))
B = collections.Counter(a[:3] for a in ours if kept(a))
print(f"1.4.6 {len(theirs)} alerts, ours {len(ours)}; 1.4.6 raced on {len(bad)} (scenario, source) "
      f"pairs in this run, alerts after the race left out; compared: {sum(A.values())} vs {sum(B.values())}")
ndiff = 0
for k in sorted(set(A) | set(B)):
    if A[k] != B[k]:
        ndiff += 1
        if ndiff <= 20:
            print(f"  {' '.join(k)}: 1.4.6 x{A[k]}, ours x{B[k]}")
sys.exit(1 if ndiff or not A else 0)
