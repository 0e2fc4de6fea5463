#!/usr/bin/env bash
# Installs, only when missing, the database servers the emulator runs behind restored RDS
# resources (--postgres-bin auto, --mysql-bin auto): Debian bookworm's PostgreSQL 15 and
# MariaDB 10.11 at pinned versions, without recommended packages. No system service of theirs
# is started by the install (a temporary policy-rc.d denies it), and the ones it installs are
# disabled at boot: the emulator runs its own servers. Idempotent; prints what it found and did.
# Exits non-zero, saying why, when a server is missing and apt cannot install it.
#
#   bash tests/emulator/install-db-servers.sh
#
# The pins (override with OFFSITE_PG_VERSION / OFFSITE_MARIADB_VERSION) are bookworm's
# point-release versions; every binary package of a source is pinned together, since the
# security suite may carry a newer one whose client Breaks an older server.
set -euo pipefail

PG_VERSION="${OFFSITE_PG_VERSION:-15.18-0+deb12u1}"
MARIADB_VERSION="${OFFSITE_MARIADB_VERSION:-1:10.11.18-0+deb12u1}"
PG_PACKAGES=(postgresql-15 postgresql-client-15)
MARIADB_PACKAGES=(mariadb-server mariadb-server-core mariadb-client mariadb-client-core mariadb-common)
SEARCH="${PATH}:/usr/sbin:/usr/bin"

say() { echo "install-db-servers: $*"; }
fail() {
  echo "install-db-servers: $*" >&2
  exit 1
}

# The first executable of the names in $1 (space-separated) found in the directories of $2
# (colon-separated), directory by directory; else nothing.
find_in() {
  local names dirs dir name
  read -ra names <<<"$1"
  IFS=: read -ra dirs <<<"$2"
  for dir in "${dirs[@]}"; do
    [ -n "$dir" ] || continue
    for name in "${names[@]}"; do
      if [ -f "$dir/$name" ] && [ -x "$dir/$name" ]; then
        echo "$dir/$name"
        return 0
      fi
    done
  done
  return 1
}

# What `--postgres-bin auto` finds: pg_config --bindir, else /usr/lib/postgresql/*/bin
# (newest first), holding initdb and postgres; psql there or on PATH.
find_postgres() {
  local dir candidates=()
  if command -v pg_config >/dev/null 2>&1; then
    candidates+=("$(pg_config --bindir 2>/dev/null || true)")
  fi
  while IFS= read -r dir; do candidates+=("$dir"); done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV)
  for dir in "${candidates[@]}"; do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] \
      && { [ -x "$dir/psql" ] || command -v psql >/dev/null 2>&1; }; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

# What `--mysql-bin auto` finds: mariadbd (or mysqld), mariadb-install-db (or
# mysql_install_db) and the mariadb (or mysql) client in PATH, /usr/sbin, /usr/bin.
find_mariadb() {
  local server install client
  server=$(find_in "mariadbd mysqld" "$SEARCH") || return 1
  install=$(find_in "mariadb-install-db mysql_install_db" "$(dirname "$server"):$SEARCH") || return 1
  client=$(find_in "mariadb mysql" "$(dirname "$server"):$SEARCH") || return 1
  "$server" --version 2>/dev/null | grep -qi mariadb || return 1
  echo "$server ($install, $client)"
}

# Disable a system service at boot and stop it if it runs (only for what this script installed).
quiet_service() {
  local service=$1
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --quiet "$service.service" >/dev/null 2>&1 || true
    [ "$service" != mariadb ] || systemctl disable --quiet mariadb.socket >/dev/null 2>&1 || true
  fi
  if [ -e "/etc/init.d/$service" ] && command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d "$service" disable >/dev/null 2>&1 || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl stop "$service.service" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$service" ]; then
    "/etc/init.d/$service" stop >/dev/null 2>&1 || true
  fi
  say "system service $service: disabled at boot, not running"
}

installs=()
wanted=()
if found=$(find_postgres); then
  say "PostgreSQL present: $found"
else
  for package in "${PG_PACKAGES[@]}"; do installs+=("$package=$PG_VERSION"); done
  wanted+=(postgresql)
fi
if found=$(find_mariadb); then
  say "MariaDB present: $found"
else
  for package in "${MARIADB_PACKAGES[@]}"; do installs+=("$package=$MARIADB_VERSION"); done
  wanted+=(mariadb)
fi
if [ ${#installs[@]} -eq 0 ]; then
  say "nothing to install"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 \
  || fail "missing: ${wanted[*]}; apt-get is not available here: install the server binaries yourself (PostgreSQL: initdb, postgres, psql; MariaDB: mariadbd, mariadb-install-db, mariadb) or pass --postgres-bin/--mysql-bin a directory"
[ "$(id -u)" -eq 0 ] || fail "missing: ${wanted[*]}; installing them needs root (apt-get install ${installs[*]})"

# No service may start while the packages install (Debian's invoke-rc.d asks policy-rc.d).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# install-db-servers.sh: no service starts during the install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

say "apt-get update"
apt-get update -qq
say "installing ${installs[*]}"
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${installs[@]}"; then
  for package in "${wanted[@]}"; do
    name=$([ "$package" = postgresql ] && echo postgresql-15 || echo mariadb-server)
    echo "install-db-servers: versions of $name apt offers: $(apt-cache madison "$name" 2>/dev/null | awk '{print $3}' | tr '\n' ' ')" >&2
  done
  fail "apt-get install failed (a pinned version no longer in the archive? set OFFSITE_PG_VERSION / OFFSITE_MARIADB_VERSION)"
fi

for service in "${wanted[@]}"; do quiet_service "$service"; done
found=$(find_postgres) || fail "PostgreSQL's server binaries are still missing after the install"
say "PostgreSQL: $found"
found=$(find_mariadb) || fail "MariaDB's server binaries are still missing after the install"
say "MariaDB: $found"
