#!/bin/bash
# A heartbeat client in plain bash (/dev/tcp), run inside the test container as a transient unit:
# says HELLO, prints the server's answer, then PINGs once a second for SECONDS seconds and prints
# any line that is not a PONG (such as "BYE shutdown") before leaving.
#
#   client.sh ID SECONDS [PORT]
id=$1 duration=$2 port=${3:-7700}

exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo "connect failed"; exit 1; }
printf 'HELLO %s\n' "$id" >&3
IFS= read -r -t 5 line <&3 || { echo "no answer to HELLO"; exit 1; }
echo "${line%$'\r'}"

pongs=0
end=$((SECONDS + duration))
while ((SECONDS < end)); do
    # Waiting up to a second for a line doubles as the pause between heartbeats.
    if IFS= read -r -t 1 line <&3; then
        if [[ $line == PONG* ]]; then pongs=$((pongs + 1)); continue; fi
        echo "${line%$'\r'}"
        break
    elif (($? > 128)); then
        printf 'PING\n' >&3 2>/dev/null || { echo "send failed"; break; }
    else
        echo "closed by server"
        break
    fi
done
echo "pongs=$pongs"
