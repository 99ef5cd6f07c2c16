#!/usr/bin/env python3
"""Writes server/tests/corpus/*.eml: real-world-shaped messages for the rewrite's corpus test
(body bytes must be identical after the rewrite). Deterministic: rerunning gives the same files.
The corpus is committed; this script documents how each message was made.

    python3 scripts/make-mail-corpus.py
"""

import base64
import os
import random
import textwrap

OUT = os.path.join(os.path.dirname(__file__), "..", "server", "tests", "corpus")
rng = random.Random(20261125)
CRLF = b"\r\n"


def b64(data, width=76):
    text = base64.b64encode(data)
    return CRLF.join(text[i:i + width] for i in range(0, len(text), width)) + CRLF


def headers(*lines):
    return CRLF.join(l.encode() if isinstance(l, str) else l for l in lines) + CRLF + CRLF


COMMON = [
    "Received: from mail-sor-f41.google.com (mail-sor-f41.google.com [209.85.220.41])\r\n"
    "\tby inbound-smtp.us-east-1.amazonaws.com with SMTP id 8u1hq3kq0\r\n"
    "\tfor team-app-prod-001@mail.example.com; Tue, 24 Nov 2026 09:14:03 +0000 (UTC)",
    "Date: Tue, 24 Nov 2026 10:14:01 +0100",
    "To: team-app-prod-001@mail.example.com",
]


def dkim(domain, selector, bh):
    return (
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s={selector};\r\n"
        f"        h=from:to:subject:date:message-id:mime-version;\r\n"
        f"        bh={bh}=;\r\n"
        f"        b=" + "A" * 60 + "\r\n         " + "B" * 60 + "=="
    )


def simple(name, from_, subject, body, extra=(), ctype="text/plain; charset=us-ascii", cte="7bit"):
    h = [f"From: {from_}"] if from_ else []
    h += COMMON + [f"Subject: {subject}", f"Message-ID: <{name}@sender.example>",
                   "MIME-Version: 1.0", f"Content-Type: {ctype}",
                   f"Content-Transfer-Encoding: {cte}"] + list(extra)
    return headers(*h) + body


def multipart(boundary, parts, preamble=b"This is a multi-part message in MIME format.\r\n"):
    out = preamble + CRLF
    for part_headers, body in parts:
        out += b"--" + boundary.encode() + CRLF + headers(*part_headers) + body + CRLF
    return out + b"--" + boundary.encode() + b"--" + CRLF


def png(size):
    return b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(size))


messages = {}

messages["01-plain-ascii"] = simple("01", "Jane Doe <jane@sender.example>", "Lunch?",
                                    b"Are we still on for lunch tomorrow?\r\n\r\n-- \r\nJane\r\n")

alt = multipart("b1_alt", [
    (["Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: quoted-printable"],
     b"Your invoice for November is attached. Total: 1 234,56 =E2=82=AC\r\n"),
    (["Content-Type: text/html; charset=UTF-8", "Content-Transfer-Encoding: quoted-printable"],
     b"<html><body><p>Your invoice for November is attached. Total: <b>1 234,56 =\r\n=E2=82=AC</b></p></body></html>\r\n"),
])
messages["02-multipart-alternative"] = simple(
    "02", '"AWS Billing" <no-reply-aws@amazon.com>', "Your AWS invoice is available", alt,
    ctype='multipart/alternative; boundary="b1_alt"')

pdf = b"%PDF-1.4\n" + bytes(rng.randrange(256) for _ in range(6000)) + b"\n%%EOF\n"
mixed = multipart("mix-7f3a", [
    (["Content-Type: text/plain; charset=us-ascii"], b"Report attached.\r\n"),
    (['Content-Type: application/pdf; name="report.pdf"', "Content-Transfer-Encoding: base64",
      'Content-Disposition: attachment; filename="report.pdf"'], b64(pdf)),
])
messages["03-pdf-attachment"] = simple("03", "reports@sender.example", "Weekly report", mixed,
                                       ctype='multipart/mixed; boundary="mix-7f3a"')

related = multipart("rel-1", [
    (["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 7bit"],
     b'<p>Our logo: <img src="cid:logo@sender.example"></p>\r\n'),
    (["Content-Type: image/png", "Content-Transfer-Encoding: base64", "Content-ID: <logo@sender.example>",
      'Content-Disposition: inline; filename="logo.png"'], b64(png(3000))),
])
messages["04-inline-image"] = simple("04", "Marketing <news@sender.example>", "Newsletter", related,
                                     ctype='multipart/related; boundary="rel-1"; type="text/html"')

jp_body = "こんにちは、来週の会議について。\r\nよろしくお願いします。\r\n".encode("iso2022_jp")
messages["05-iso-2022-jp"] = simple(
    "05", "=?ISO-2022-JP?B?GyRCOzNFRBsoQiAbJEJCQE86GyhC?= <yamada@sender.example.jp>",
    "=?ISO-2022-JP?B?GyRCMnE1RBsoQg==?=", jp_body, ctype="text/plain; charset=ISO-2022-JP")

messages["06-windows-1252"] = simple(
    "06", "Francois <francois@sender.example>",
    "Devis", "Bonjour,\r\nVoici le devis \u2013 co\u00fbt total 300 \u20ac.\r\nCordialement\r\n".encode("cp1252"),
    ctype="text/plain; charset=windows-1252", cte="8bit")

messages["07-bare-lf"] = (
    b"From: unix@sender.example\nTo: team-app-prod-001@mail.example.com\nSubject: cron output\n"
    b"Message-ID: <07@sender.example>\nDate: Tue, 24 Nov 2026 10:14:01 +0100\n\n"
    b"/etc/cron.daily/logrotate:\nerror: skipping \"/var/log/app.log\"\n.\n..\nend\n")

long_line = ("x" * 1000 + " ") * 2 + "\r\n"
messages["08-long-lines"] = simple("08", "logs@sender.example", "Long line", (long_line * 3).encode(),
                                   cte="8bit")

messages["09-missing-from"] = simple("09", None, "No From header", b"Sent by a broken script.\r\n")

messages["10-several-dkim"] = headers(
    dkim("sender.example", "s1", "abc"), dkim("esp.example", "esp2026", "def"),
    dkim("sender.example", "ed", "ghi").replace("rsa-sha256", "ed25519-sha256"),
    "From: \"Sender, Inc.\" <hello@sender.example>", *COMMON, "Subject: Signed thrice",
    "Message-ID: <10@sender.example>", "MIME-Version: 1.0", "Content-Type: text/plain") + b"signed body\r\n"

messages["11-existing-reply-to"] = simple(
    "11", "Support <support@sender.example>", "Ticket #4411", b"Reply to the ticket address.\r\n",
    extra=["Reply-To: tickets+4411@sender.example"])

messages["12-encoded-from"] = simple(
    "12", "=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@sender.example>",
    "=?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=", "Grüße\r\n".encode("utf-8"),
    ctype="text/plain; charset=utf-8", cte="8bit")

messages["13-folded-encoded-subject"] = simple(
    "13", "ops@sender.example",
    "=?UTF-8?B?W0FMQVJNXSDjgqLjg6njg7zjg6ggQ1BVIOS9v+eUqOeOhyA5NSU=?=\r\n =?UTF-8?B?IOOCkui2heOBiOOBvuOBl+OBnw==?=",
    b"CPU > 95%\r\n")

messages["14-quoted-printable"] = simple(
    "14", "qp@sender.example", "QP", b"Soft=\r\nbreak and =3D sign and caf=C3=A9\r\n",
    ctype="text/plain; charset=utf-8", cte="quoted-printable")

binary_part = bytes(range(256)) * 8
binmix = multipart("bin-part", [
    (["Content-Type: text/plain"], b"binary follows\r\n"),
    (["Content-Type: application/octet-stream", "Content-Transfer-Encoding: binary"], binary_part),
])
messages["15-binary-part"] = simple("15", "bin@sender.example", "Binary", binmix,
                                    ctype='multipart/mixed; boundary="bin-part"')

messages["16-duplicate-headers"] = headers(
    "From: dup@sender.example", "To: team-app-prod-001@mail.example.com", "To: second@mail.example.com",
    "Subject: first", "Subject: second", "Date: Tue, 24 Nov 2026 10:14:01 +0100",
    "Date: Tue, 24 Nov 2026 10:15:01 +0100", "Message-ID: <16@sender.example>",
    "Content-Type: text/plain", "Content-Type: text/html") + b"which subject wins?\r\n"

messages["17-mailing-list"] = simple(
    "17", "Dev List <dev@lists.sender.example>", "[dev] Release 2.0", b"Release notes...\r\n",
    extra=["Sender: dev-bounces@lists.sender.example", "Precedence: list",
           "List-Id: Developers <dev.lists.sender.example>",
           "List-Unsubscribe: <mailto:dev-leave@lists.sender.example>,\r\n <https://lists.sender.example/u>",
           "List-Post: <mailto:dev@lists.sender.example>", "Return-Path: <dev-bounces@lists.sender.example>"])

ics = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:42@sender.example\r\n"
       b"DTSTART:20261201T090000Z\r\nSUMMARY:Planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
messages["18-calendar-invite"] = simple("18", "Cal <cal@sender.example>", "Invitation: Planning", ics,
                                        ctype="text/calendar; method=REQUEST; charset=UTF-8")

inner_alt = multipart("inner-alt", [
    (["Content-Type: text/plain"], b"plain\r\n"), (["Content-Type: text/html"], b"<b>html</b>\r\n")],
    preamble=b"")
nested = multipart("outer-mixed", [
    (['Content-Type: multipart/alternative; boundary="inner-alt"'], inner_alt),
    (['Content-Type: text/csv; name="data.csv"', 'Content-Disposition: attachment; filename="data.csv"'],
     b"a,b\r\n1,2\r\n"),
])
messages["19-nested-multipart"] = simple("19", "nested@sender.example", "Nested", nested,
                                         ctype='multipart/mixed; boundary="outer-mixed"')

fwd_inner = messages["01-plain-ascii"]
fwd = multipart("fwd-1", [
    (["Content-Type: text/plain"], b"See the message below.\r\n"),
    (["Content-Type: message/rfc822", 'Content-Disposition: attachment; filename="fwd.eml"'], fwd_inner),
])
messages["20-forwarded-rfc822"] = simple("20", "boss@sender.example", "Fwd: Lunch?", fwd,
                                         ctype='multipart/mixed; boundary="fwd-1"')

refs = "References: " + "\r\n\t".join(f"<thread-{i}@sender.example>" for i in range(40))
messages["21-long-references"] = simple("21", "thread@sender.example", "Re: Re: Re: long thread",
                                        b"+1\r\n", extra=[refs, "In-Reply-To: <thread-39@sender.example>"])

messages["22-tab-folding"] = simple(
    "22", '"Tab\tFolded"\r\n\t<tab@sender.example>', "Tab\r\n\tfolded subject", b"tabs\r\n")

received = [f"Received: from relay{i}.sender.example (relay{i}.sender.example [192.0.2.{i}])\r\n"
            f"\tby relay{i+1}.sender.example; Tue, 24 Nov 2026 10:14:0{i} +0100" for i in range(8)]
messages["23-many-received"] = headers(
    "Return-Path: <bounce-123@sender.example>", *received, "From: relay@sender.example", *COMMON,
    "Subject: Many hops", "Message-ID: <23@sender.example>") + b"hops\r\n"

messages["24-empty-body"] = simple("24", "empty@sender.example", "(no body)", b"")

messages["25-headers-only"] = (
    b"From: hdr@sender.example\r\nTo: team-app-prod-001@mail.example.com\r\nSubject: headers only\r\n")

messages["26-utf8-headers"] = simple(
    "26", "Zoë Ünlü <zoe@sender.example>", "Ünicode in raw headers ✓",
    "SMTPUTF8 body ✓\r\n".encode("utf-8"),
    ctype="text/plain; charset=utf-8", cte="8bit")

messages["27-comment-from"] = simple("27", "old@sender.example (Old Style Name)", "Comment-style From",
                                     b"old style\r\n")

messages["28-escaped-quotes"] = simple("28", '"The \\"Best\\" Team" <best@sender.example>',
                                       "Escaped quotes", b"quotes\r\n")

dsn = multipart("dsn-9", [
    (["Content-Type: text/plain"], b"Delivery to the following recipient failed permanently:\r\n\r\n  gone@example.org\r\n"),
    (["Content-Type: message/delivery-status"],
     b"Reporting-MTA: dns; mail.sender.example\r\n\r\nFinal-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"),
    (["Content-Type: text/rfc822-headers"], b"From: forwarder@mail.example.com\r\nSubject: hello\r\n"),
])
messages["29-bounce-dsn"] = simple(
    "29", "Mail Delivery Subsystem <MAILER-DAEMON@sender.example>", "Undelivered Mail Returned to Sender", dsn,
    ctype='multipart/report; report-type=delivery-status; boundary="dsn-9"',
    extra=["Auto-Submitted: auto-replied"])

latin1 = simple("30", "=?ISO-8859-1?Q?Ren=E9?= <rene@sender.example>", "=?ISO-8859-1?Q?R=E9sum=E9?=",
                "R\u00e9sum\u00e9 ci-joint.\r\n".encode("latin-1"), ctype="text/plain; charset=ISO-8859-1",
                cte="8bit")
messages["30-latin1"] = latin1

signed_body = b"This message is signed; any change breaks the signature.\r\n"
smime = multipart("smime-sig", [
    (["Content-Type: text/plain; charset=us-ascii"], signed_body),
    (['Content-Type: application/pkcs7-signature; name="smime.p7s"', "Content-Transfer-Encoding: base64",
      'Content-Disposition: attachment; filename="smime.p7s"'], b64(bytes(rng.randrange(256) for _ in range(900)))),
], preamble=b"This is an S/MIME signed message\r\n")
messages["31-smime-signed"] = simple(
    "31", "Signer <signer@sender.example>", "Signed", smime,
    ctype='multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="smime-sig"')

big = multipart("big-1", [
    (["Content-Type: text/plain"], b"large attachment\r\n"),
    (["Content-Type: application/zip", "Content-Transfer-Encoding: base64"],
     b64(bytes(rng.randrange(256) for _ in range(150_000)))),
])
messages["32-large-attachment"] = simple("32", "big@sender.example", "Large", big,
                                         ctype='multipart/mixed; boundary="big-1"')

os.makedirs(OUT, exist_ok=True)
for name, data in messages.items():
    with open(os.path.join(OUT, name + ".eml"), "wb") as f:
        f.write(data)
print(f"{len(messages)} messages in {os.path.normpath(OUT)}")
