"""Statement files written for these tests, one builder per format."""

from __future__ import annotations

from dataclasses import dataclass

from .conftest import IBAN


@dataclass
class Entry:
    amount: str  # signed
    booked: str = "2026-11-02"
    acct_svcr_ref: str = ""
    ntry_ref: str = ""
    e2e: str = ""
    remittance: str = ""
    party: str = "ACME GmbH"
    status: str = "BOOK"


def camt(
    entries: list[Entry],
    *,
    opening: str = "1000.00",
    closing: str | None = None,
    iban: str = IBAN,
    currency: str = "EUR",
    statement_id: str = "STMT-2026-11-02",
    version: str = "08",
    extra_statements: str = "",
    prolog: str = "",
) -> bytes:
    from decimal import Decimal

    if closing is None:
        booked = [e for e in entries if e.status == "BOOK"]
        closing = str(Decimal(opening) + sum((Decimal(e.amount) for e in booked), Decimal(0)))

    def balance(code: str, amount: str, day: str) -> str:
        sign = "DBIT" if amount.startswith("-") else "CRDT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{amount.lstrip("-")}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
            f"<Dt><Dt>{day}</Dt></Dt></Bal>"
        )

    def entry(e: Entry) -> str:
        sign = "DBIT" if e.amount.startswith("-") else "CRDT"
        refs = f"<Refs><EndToEndId>{e.e2e}</EndToEndId></Refs>" if e.e2e else ""
        party_role = "Cdtr" if sign == "DBIT" else "Dbtr"
        return (
            f"<Ntry>{f'<NtryRef>{e.ntry_ref}</NtryRef>' if e.ntry_ref else ''}"
            f'<Amt Ccy="{currency}">{e.amount.lstrip("-")}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
            f"<Sts><Cd>{e.status}</Cd></Sts>"
            f"<BookgDt><DtTm>{e.booked}T10:00:00+01:00</DtTm></BookgDt>"
            f"<ValDt><Dt>{e.booked}</Dt></ValDt>"
            f"{f'<AcctSvcrRef>{e.acct_svcr_ref}</AcctSvcrRef>' if e.acct_svcr_ref else ''}"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>"
            "</Domn></BkTxCd>"
            f"<NtryDtls><TxDtls>{refs}<RltdPties><{party_role}><Pty><Nm>{e.party}</Nm></Pty>"
            f"</{party_role}></RltdPties><RmtInf><Ustrd>{e.remittance}</Ustrd></RmtInf>"
            "</TxDtls></NtryDtls></Ntry>"
        )

    statement = (
        f"<Stmt><Id>{statement_id}</Id><CreDtTm>2026-11-03T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
        f"{balance('OPBD', opening, '2026-11-01')}{balance('CLBD', closing, '2026-11-30')}"
        f"{''.join(entry(e) for e in entries)}</Stmt>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-03T06:00:00</CreDtTm>"
        f"</GrpHdr>{statement}{extra_statements}</BkToCstmrStmt></Document>"
    ).encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<Stmt><Id>&lol4;</Id></Stmt></BkToCstmrStmt></Document>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>
"""


def ofx_sgml(
    transactions: list[tuple[str, str, str, str]],
    *,
    acct: str = "12345678",
    balance: str = "500.00",
    currency: str = "EUR",
) -> bytes:
    """transactions: (fitid, yyyymmdd, signed amount, memo)"""
    body = "".join(
        f"<STMTTRN>\n<TRNTYPE>{'DEBIT' if a.startswith('-') else 'CREDIT'}\n"
        f"<DTPOSTED>{d}120000.000\n<TRNAMT>{a}\n<FITID>{f}\n<NAME>Counterparty\n"
        + (f"<MEMO>{m}\n" if m else "")
        + "</STMTTRN>\n"
        for f, d, a, m in transactions
    )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        "<OFX>\n<SIGNONMSGSRSV1>\n<SONRS>\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
        "<DTSERVER>20261130120000\n<LANGUAGE>ENG\n</SONRS>\n</SIGNONMSGSRSV1>\n"
        "<BANKMSGSRSV1>\n<STMTTRNRS>\n<TRNUID>1\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
        f"<STMTRS>\n<CURDEF>{currency}\n<BANKACCTFROM>\n<BANKID>1234567890123\n<ACCTID>{acct}\n"
        "<ACCTTYPE>CHECKING\n</BANKACCTFROM>\n<BANKTRANLIST>\n<DTSTART>20261101\n"
        f"<DTEND>20261130\n{body}</BANKTRANLIST>\n<LEDGERBAL>\n<BALAMT>{balance}\n"
        "<DTASOF>20261130\n</LEDGERBAL>\n</STMTRS>\n</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n"
    ).encode()


def mt940(statements: list[tuple[str, str, str, list[str]]], *, account: str = IBAN) -> bytes:
    """statements: (:20: ref, :60F: opening, :62F: closing, [:61: + :86: lines])"""
    parts = ["{1:F01BANKDEFFAXXX0000000000}\n"]
    for ref, opening, closing, lines in statements:
        parts.append(
            f":20:{ref}\n:25:{account}\n:28C:00001/001\n:60F:{opening}\n"
            + "".join(f"{line}\n" for line in lines)
            + f":62F:{closing}\n-\n"
        )
    return "".join(parts).encode()
