#!/bin/bash
# Point-in-time recovery drill (docs/backup.md): a private PostgreSQL 15 cluster with
# WAL archiving, Helpline on it, a base backup, mail before and after a target time,
# the cluster stopped, the base backup recovered to the target; then `helpline backup`
# on the recovered database, which reads every blob it names.
#
#   sudo PORT=55433 docs/examples/pitr-drill.sh      (as root: the cluster runs as postgres)
set -euo pipefail
B=${PG_BIN:-/usr/lib/postgresql/15/bin}
W=${WORKDIR:-/tmp/pitr-drill}
PORT=${PORT:-55433}
H=${HELPLINE:-$(dirname "$0")/../../.venv/bin/helpline}
PY=$(dirname "$H")/python
rm -rf "$W"; mkdir -p "$W/archive"; chown -R postgres "$W"
pg() { runuser -u postgres -- "$@"; }
pg "$B/initdb" -D "$W/data" -U postgres --auth=trust >/dev/null
cat >> "$W/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$W'
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $W/archive/%f && cp %p $W/archive/%f'
CONF
pg "$B/pg_ctl" -D "$W/data" -l "$W/log" -w start >/dev/null
pg "$B/createdb" -h 127.0.0.1 -p "$PORT" helpline
export HELPLINE_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/helpline
export HELPLINE_DATA_DIR=$W/helpline HELPLINE_LOG_LEVEL=WARNING
export HELPLINE_INLINE_BLOB_BYTES=1024 HELPLINE_JOBS_IMMEDIATE=1
"$H" migrate -v0; "$H" seed-demo >/dev/null
send() {  # messages with a 400 kB attachment each, through the MTA's pipe
  for i in "$@"; do
    "$PY" - "$i" <<'PY' | "$H" postmaster
import os, sys
from email.message import EmailMessage
n = sys.argv[1]
msg = EmailMessage()
msg["From"] = f"jane{n}@example.net"
msg["To"] = "info-en@helpline.localhost"
msg["Subject"] = f"Photo permission {n}"
msg["Message-ID"] = f"<drill{n}.{os.getpid()}@example.net>"
msg.set_content("Here is the photo.\n")
msg.add_attachment(os.urandom(400_000), maintype="image", subtype="jpeg", filename="p.jpg")
sys.stdout.buffer.write(msg.as_bytes())
PY
  done
}
tickets() {
  psql -h 127.0.0.1 -p "${1:-$PORT}" -U postgres helpline -Atc \
    "select count(*) from helpline_ticket" -c "select string_agg(status || ' ' || n, ', ')
     from (select status, count(*) n from helpline_inbound_message group by 1) s" | paste -sd" "
}
send 1 2 3
pg "$B/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$W/base" -Fp -X stream -c fast
send 4 5 6
T=$(psql -h 127.0.0.1 -p "$PORT" -U postgres helpline -Atc "select now()")
echo "target time $T, tickets $(tickets)"
sleep 1
send 7 8 9
echo "tickets at the end $(tickets)"
psql -h 127.0.0.1 -p "$PORT" -U postgres -Atc "select pg_switch_wal()" >/dev/null
sleep 2
pg "$B/pg_ctl" -D "$W/data" -w stop -m fast >/dev/null
cp -a "$W/base" "$W/recovered"
P2=$((PORT + 1))
cat >> "$W/recovered/postgresql.conf" <<CONF
port = $P2
archive_mode = off
restore_command = 'cp $W/archive/%f %p'
recovery_target_time = '$T'
recovery_target_action = 'promote'
CONF
pg touch "$W/recovered/recovery.signal"
pg "$B/pg_ctl" -D "$W/recovered" -l "$W/log2" -w start >/dev/null
for _ in $(seq 60); do
  [ "$(psql -h 127.0.0.1 -p $P2 -U postgres -Atc 'select pg_is_in_recovery()')" = f ] && break
  sleep 0.5
done
grep -E "starting point-in-time|recovery stopping|redo done|archive recovery complete" "$W/log2" || true
echo "tickets after recovery to $T: $(tickets $P2)"
export HELPLINE_DATABASE_URL=postgres://postgres@127.0.0.1:$P2/helpline
echo '$ helpline backup (checks every blob the recovered database names)'
"$H" backup "$W/after-pitr"
pg "$B/pg_ctl" -D "$W/recovered" -w stop -m fast >/dev/null
