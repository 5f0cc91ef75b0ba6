//! Golden cases: every expected fingerprint and ID below is what pt-query-digest 3.2.1's own
//! `QueryRewriter::fingerprint` and `make_checksum` printed for the query (`embedded` with
//! `--preserve-embedded-numbers`).

use super::*;

struct Case {
    name: &'static str,
    query: &'static str,
    fingerprint: &'static str,
    id: &'static str,
    embedded: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "a string literal",
        query: "SELECT name, password FROM user WHERE id='12823'",
        fingerprint: "select name, password from user where id=?",
        id: "E8DF4439BCC1309241A41B660DDD2F37",
        embedded: "select name, password from user where id=?",
    },
    Case {
        name: "in lists of any length",
        query: "SELECT * FROM t WHERE id IN ('a','b') AND x IN (1)",
        fingerprint: "select * from t where id in(?+) and x in(?+)",
        id: "51F87A247297BEFC20C02AADE785B9A2",
        embedded: "select * from t where id in(?+) and x in(?+)",
    },
    Case {
        name: "a multi-row insert",
        query: "INSERT INTO t (a,b) VALUES (1,'x'),(2,'y'),(3,'z')",
        fingerprint: "insert into t (a,b) values(?+)",
        id: "0EE92DF8B341A2AAAF1606D0AA96CBCD",
        embedded: "insert into t (a,b) values(?+)",
    },
    Case {
        name: "a one-row insert",
        query: "INSERT INTO t (a,b) VALUES (1,'x')",
        fingerprint: "insert into t (a,b) values(?+)",
        id: "0EE92DF8B341A2AAAF1606D0AA96CBCD",
        embedded: "insert into t (a,b) values(?+)",
    },
    Case {
        name: "a function call in values",
        query: "insert into users(name,email,created) values ('a','a@x',now()),('b','b@x',now())",
        fingerprint: "insert into users(name,email,created) values (?,?,now())",
        id: "615C505F7655E78FFE9E3124AE13596C",
        embedded: "insert into users(name,email,created) values (?,?,now())",
    },
    Case {
        name: "numbers in identifiers",
        query: "SELECT * FROM users_2009 WHERE a = -1.5e10",
        fingerprint: "select * from users_? where a = ?",
        id: "6EB7A0134ADBDA9D208E78D9DE2A48D2",
        embedded: "select * from users_2009 where a = ?",
    },
    Case {
        name: "a database prefix with digits",
        query: "SELECT col1 FROM db1.tbl_v2 WHERE x=1",
        fingerprint: "select col? from d?tbl_v? where x=?",
        id: "C209E82C408E8219D938A7FEDE1D1C55",
        embedded: "select col1 from db1.tbl_v2 where x=?",
    },
    Case {
        name: "an md5 literal",
        query: "SELECT * FROM t WHERE md5 = 'c4ca4238a0b923820dcc509a6f75849b'",
        fingerprint: "select * from t where md? = ?",
        id: "0672CF14F342333CEB67619F1E264898",
        embedded: "select * from t where md5 = ?",
    },
    Case {
        name: "hex and bit literals",
        query: "SELECT * FROM t WHERE a = 0x1F AND b = b'101' AND c = X'ab'",
        fingerprint: "select * from t where a = ?f and b = ? and c = x?",
        id: "EA31D389231621714366E4590FFC44C8",
        embedded: "select * from t where a = ?f and b = ? and c = x?",
    },
    Case {
        name: "arithmetic",
        query: "UPDATE t SET visits = visits + 1 WHERE id = 5",
        fingerprint: "update t set visits = visits ? ? where id = ?",
        id: "FC6F4F96F1966EB61D1363403D7414FC",
        embedded: "update t set visits = visits + ? where id = ?",
    },
    Case {
        name: "null and booleans",
        query: "SELECT * FROM t WHERE a IS NULL AND b = TRUE AND c = false",
        fingerprint: "select * from t where a is ? and b = ? and c = ?",
        id: "7C7EFC18E52F89684AEF1DD8BCD13006",
        embedded: "select * from t where a is ? and b = ? and c = ?",
    },
    Case {
        name: "comments",
        query: "SELECT /* hint */ a FROM t -- trailing",
        fingerprint: "select a from t ",
        id: "950CD0E099D70120E32C8FE42E9EFCE1",
        embedded: "select a from t ",
    },
    Case {
        name: "a hash comment",
        query: "SELECT a FROM t # trailing\nWHERE b = 2",
        fingerprint: "select a from t where b = ?",
        id: "AAF5C8A1B0F5F52105E7465FD18D02CD",
        embedded: "select a from t where b = ?",
    },
    Case {
        name: "a version comment",
        query: "SELECT /*!40001 SQL_NO_CACHE */ a FROM t",
        fingerprint: "select /*!? sql_no_cache */ a from t",
        id: "AD6D527F9868EB1C4572522EA593DAE4",
        embedded: "select /*!? sql_no_cache */ a from t",
    },
    Case {
        name: "limit with offset",
        query: "SELECT * FROM t LIMIT 10, 20",
        fingerprint: "select * from t limit ?",
        id: "753C37E76A107EB7B71696DAF8BE14DB",
        embedded: "select * from t limit ?",
    },
    Case {
        name: "limit offset",
        query: "SELECT * FROM t LIMIT 10 OFFSET 20",
        fingerprint: "select * from t limit ?",
        id: "753C37E76A107EB7B71696DAF8BE14DB",
        embedded: "select * from t limit ?",
    },
    Case {
        name: "order by asc",
        query: "SELECT * FROM t ORDER BY a ASC, b DESC",
        fingerprint: "select * from t order by a, b desc",
        id: "3D101696620C8FEF3752524C0E07F284",
        embedded: "select * from t order by a, b desc",
    },
    Case {
        name: "order by ascending word",
        query: "SELECT * FROM t ORDER BY a, ascii_col",
        fingerprint: "select * from t order by a,ii_col",
        id: "BDF01710ACD4939076A1CE97256FCF28",
        embedded: "select * from t order by a,ii_col",
    },
    Case {
        name: "unions",
        query: "SELECT a FROM t1 UNION SELECT a FROM t1 UNION ALL SELECT a FROM t1",
        fingerprint: "select a from t? /*repeat union all*/",
        id: "361EC9ADCB82F823DC5D027B79656A37",
        embedded: "select a from t1 /*repeat union all*/",
    },
    Case {
        name: "doubled quotes",
        query: "SELECT * FROM t WHERE s = 'it''s'",
        fingerprint: "select * from t where s = ??",
        id: "B3E317D2140A9C46701DCFC94C914156",
        embedded: "select * from t where s = ??",
    },
    Case {
        name: "escaped quotes",
        query: "SELECT * FROM t WHERE s = 'it\\'s' AND d = \"say \\\"hi\\\"\"",
        fingerprint: "select * from t where s = ? and d = ?",
        id: "9955071F05206F46D0B661294A2F1992",
        embedded: "select * from t where s = ? and d = ?",
    },
    Case {
        name: "a subquery in in",
        query: "SELECT * FROM t WHERE id in (select id from u where z = 3)",
        fingerprint: "select * from t where id in (select id from u where z = ?)",
        id: "0C4F09721B5DBA0056620BFEE769A517",
        embedded: "select * from t where id in (select id from u where z = ?)",
    },
    Case {
        name: "positional parameters",
        query: "SELECT * FROM t WHERE id = $1",
        fingerprint: "select * from t where id = $?",
        id: "C71162FDEE31F583592467D9D0F55E50",
        embedded: "select * from t where id = $?",
    },
    Case {
        name: "a bare number",
        query: "SELECT 1",
        fingerprint: "select ?",
        id: "1FE1379FE2A31B8D16219655761820A2",
        embedded: "select ?",
    },
    Case {
        name: "use",
        query: "use mydb",
        fingerprint: "use ?",
        id: "DD749893CA4A219A6C099B0B73EA7633",
        embedded: "use ?",
    },
    Case {
        name: "use with backticks",
        query: "USE `my db`",
        fingerprint: "use `my db`",
        id: "3FA25C43D457246D909D72FBB313490A",
        embedded: "use `my db`",
    },
    Case {
        name: "mysqldump",
        query: "SELECT /*!40001 SQL_NO_CACHE */ * FROM `orders`",
        fingerprint: "mysqldump",
        id: "E3C753C2F267B2D767A347A2812914DF",
        embedded: "mysqldump",
    },
    Case {
        name: "pt-table-checksum",
        query: "REPLACE /*foo.bar:3/3*/ INTO checksum.checksum SELECT 1",
        fingerprint: "percona-toolkit",
        id: "8DD0EF5DCAF873994C88D66B213FB95B",
        embedded: "percona-toolkit",
    },
    Case {
        name: "an administrator command",
        query: "administrator command: Ping",
        fingerprint: "administrator command: Ping",
        id: "E8390778DC20D4CC04FE01C5B31FD305",
        embedded: "administrator command: Ping",
    },
    Case {
        name: "a stored procedure",
        query: "CALL myproc(1,2)",
        fingerprint: "call myproc",
        id: "C122FF9243E614AF63C1C9E93DE88763",
        embedded: "call myproc",
    },
    Case {
        name: "a stored procedure with nested parentheses",
        query: "  call Foo.Bar(f(1),2)",
        fingerprint: "call foo.bar(f",
        id: "1591CACA6D966782735CCC77E6C1A7F9",
        embedded: "call foo.bar(f",
    },
    Case {
        name: "whitespace",
        query: "  SELECT\ta,\n\n  b\r\nFROM   t  ",
        fingerprint: "select a, b from t ",
        id: "C47DE451A2DFE7E797CBE27DE797208A",
        embedded: "select a, b from t ",
    },
    Case {
        name: "a leading comment",
        query: "/* app:web */ SELECT 1 FROM dual",
        fingerprint: "select ? from dual",
        id: "B2FD215564A613E27B321C64B690F933",
        embedded: "select ? from dual",
    },
    Case {
        name: "insert ignore",
        query: "INSERT IGNORE INTO t VALUES (1),(2)",
        fingerprint: "insert ignore into t values(?+)",
        id: "100EF902330EE8E5923CED5686B44618",
        embedded: "insert ignore into t values(?+)",
    },
    Case {
        name: "replace into",
        query: "REPLACE INTO t (a) VALUES (1), (2)",
        fingerprint: "replace into t (a) values(?+)",
        id: "9484663134EF0787F513FD255DBCE103",
        embedded: "replace into t (a) values(?+)",
    },
    Case {
        name: "values with spaces",
        query: "INSERT INTO t VALUES ( 1 , 2 ) , ( 3 , 4 )",
        fingerprint: "insert into t values(?+)",
        id: "87903DB6D81F906FCF687AF9F2D5E248",
        embedded: "insert into t values(?+)",
    },
    Case {
        name: "an unterminated string",
        query: "SELECT 'abc",
        fingerprint: "select 'abc",
        id: "9B0BCF4FA8C38A70E5228E73A7840707",
        embedded: "select 'abc",
    },
    Case {
        name: "uppercase hex survives",
        query: "SELECT 0xDEADbeef",
        fingerprint: "select ?deadbeef",
        id: "116532D3F23BE3D0AEAFAA72E31D5EA2",
        embedded: "select ?deadbeef",
    },
    Case {
        name: "negative numbers",
        query: "SELECT -5, +3, 4-2",
        fingerprint: "select ?, ?, ?",
        id: "029FFD26A5BDE47D90165F0C428746F0",
        embedded: "select ?, ?, ?",
    },
    Case {
        name: "a float",
        query: "SELECT .5, 1.5, 1e-3",
        fingerprint: "select ?, ?, ?",
        id: "029FFD26A5BDE47D90165F0C428746F0",
        embedded: "select ?, ?, ?",
    },
    Case {
        name: "true inside words",
        query: "SELECT untrue, falsely, true_x FROM t",
        fingerprint: "select untrue, falsely, true_x from t",
        id: "979679F5DAA1F84BF7346E43FB6B2768",
        embedded: "select untrue, falsely, true_x from t",
    },
    Case {
        name: "null inside words",
        query: "SELECT nullable FROM t WHERE x = NULL",
        fingerprint: "select nullable from t where x = ?",
        id: "CA8332FF4E42233EB40A61BAE20B5C1C",
        embedded: "select nullable from t where x = ?",
    },
    Case {
        name: "in without space",
        query: "SELECT * FROM t WHERE a IN(1,2) AND b NOT IN (3)",
        fingerprint: "select * from t where a in(?+) and b not in(?+)",
        id: "435C860E963F0DAA8228EF86EEB1A9EF",
        embedded: "select * from t where a in(?+) and b not in(?+)",
    },
    Case {
        name: "value keyword",
        query: "INSERT INTO t VALUE (1)",
        fingerprint: "insert into t value(?+)",
        id: "510992ADE1CA2EB364FB730BE2EAA2D0",
        embedded: "insert into t value(?+)",
    },
    Case {
        name: "empty in list",
        query: "SELECT * FROM t WHERE a IN ()",
        fingerprint: "select * from t where a in(?+)",
        id: "B90D1BE128AC178FE9C1637F37F97167",
        embedded: "select * from t where a in(?+)",
    },
    Case {
        name: "select union distinct texts",
        query: "SELECT a FROM t1 UNION SELECT b FROM t2",
        fingerprint: "select a from t? union select b from t?",
        id: "C52ABDC5524FBDCD3BF9721B4DAAF549",
        embedded: "select a from t1 union select b from t2",
    },
    Case {
        name: "limit alone",
        query: "SELECT * FROM t LIMIT 5",
        fingerprint: "select * from t limit ?",
        id: "753C37E76A107EB7B71696DAF8BE14DB",
        embedded: "select * from t limit ?",
    },
    Case {
        name: "two limits",
        query: "SELECT * FROM (SELECT * FROM t LIMIT 5) x LIMIT 1, 2",
        fingerprint: "select * from (select * from t limit ?) x limit ?, ?",
        id: "3CBFA830E51CFA6A1E34E0FF9C53AAE1",
        embedded: "select * from (select * from t limit ?) x limit ?, ?",
    },
    Case {
        name: "order by without asc",
        query: "SELECT * FROM t ORDER BY a",
        fingerprint: "select * from t order by a",
        id: "3F8B3CAF3466A6588083FA9A2C273470",
        embedded: "select * from t order by a",
    },
    Case {
        name: "order by in lowercase",
        query: "select * from t order by a asc",
        fingerprint: "select * from t order by a",
        id: "3F8B3CAF3466A6588083FA9A2C273470",
        embedded: "select * from t order by a",
    },
    Case {
        name: "a comment without end",
        query: "SELECT /* open a FROM t",
        fingerprint: "select /* open a from t",
        id: "AB5AF421D8E8FF2D10B2620AD104E202",
        embedded: "select /* open a from t",
    },
    Case {
        name: "an empty comment",
        query: "SELECT /**/ a FROM t",
        fingerprint: "select /**/ a from t",
        id: "B98FD3CDC3096D60234F6116B95563B5",
        embedded: "select /**/ a from t",
    },
    Case {
        name: "dash comment with quote",
        query: "SELECT a -- it's\nFROM t",
        fingerprint: "select a ? it's from t",
        id: "3149C6BD1B59FD26CD1CF993BE01A21F",
        embedded: "select a -- it's from t",
    },
    Case {
        name: "a trailing newline",
        query: "SELECT 1\n",
        fingerprint: "select ?",
        id: "1FE1379FE2A31B8D16219655761820A2",
        embedded: "select ?",
    },
    Case {
        name: "keywords case",
        query: "Select A From T Where B = 'X'",
        fingerprint: "select a from t where b = ?",
        id: "AAF5C8A1B0F5F52105E7465FD18D02CD",
        embedded: "select a from t where b = ?",
    },
    Case {
        name: "multi-line insert",
        query: "INSERT INTO t\n(a, b)\nVALUES\n(1, 2),\n(3, 4)",
        fingerprint: "insert into t (a, b) values(?+)",
        id: "8888B738690000778A1971675757BAE0",
        embedded: "insert into t (a, b) values(?+)",
    },
    Case {
        name: "show",
        query: "SHOW VARIABLES LIKE 'slow%'",
        fingerprint: "show variables like ?",
        id: "E77769C62EF669AA7DD5F6760F2D2EBB",
        embedded: "show variables like ?",
    },
    Case {
        name: "set",
        query: "SET NAMES utf8mb4",
        fingerprint: "set names utf?m?",
        id: "995F41A1456C1CF6746D96521AE5B82C",
        embedded: "set names utf8mb4",
    },
    Case {
        name: "create table",
        query: "CREATE TABLE t2 (id INT PRIMARY KEY, v VARCHAR(20))",
        fingerprint: "create table t? (id int primary key, v varchar(?))",
        id: "208CD02661AEFD50EF3A5198F0665D61",
        embedded: "create table t2 (id int primary key, v varchar(?))",
    },
    Case {
        name: "update with in",
        query: "UPDATE t SET a = 1 WHERE id IN (1, 2, 3) ORDER BY id ASC LIMIT 10",
        fingerprint: "update t set a = ? where id in(?+) order by id limit ?",
        id: "FB2F07970ACC0DC0B9AE238D6181A2DD",
        embedded: "update t set a = ? where id in(?+) order by id limit ?",
    },
    Case {
        name: "delete",
        query: "DELETE FROM t WHERE created < '2020-01-01 00:00:00'",
        fingerprint: "delete from t where created < ?",
        id: "DA3148173D862AF8D5C8883B646F9D43",
        embedded: "delete from t where created < ?",
    },
    Case {
        name: "a join",
        query: "SELECT a.x, b.y FROM a JOIN b ON a.id = b.a_id WHERE b.z > 10",
        fingerprint: "select a.x, b.y from a join b on a.id = b.a_id where b.z > ?",
        id: "7B1328FB6FA3287C7D72400DA589FA4C",
        embedded: "select a.x, b.y from a join b on a.id = b.a_id where b.z > ?",
    },
    Case {
        name: "non-ascii bytes",
        query: "SELECT 'héllo', ünïcode_col FROM tÄble",
        fingerprint: "select ?, ünïcode_col from tÄble",
        id: "61B4E370034015CDF3AAEAEF5F0C7EEE",
        embedded: "select ?, ünïcode_col from tÄble",
    },
    Case {
        name: "vertical tab",
        query: "SELECT\x0b1",
        fingerprint: "select\x0b?",
        id: "38C24EE3B59098D43707B9BBB377422E",
        embedded: "select\x0b?",
    },
    Case {
        name: "minus minus without space",
        query: "SELECT 5--3 FROM t",
        fingerprint: "select ?",
        id: "1FE1379FE2A31B8D16219655761820A2",
        embedded: "select ?",
    },
];

#[test]
fn every_golden_query_gets_pt_query_digests_fingerprint_and_id() {
    let mut failures = Vec::new();
    for case in CASES {
        let got = fingerprint(case.query.as_bytes());
        let id = query_id(&got);
        if got != case.fingerprint.as_bytes() || id != case.id {
            failures.push(format!(
                "{}: got {:?} {id}, want {:?} {}",
                case.name,
                String::from_utf8_lossy(&got),
                case.fingerprint,
                case.id
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn preserving_embedded_numbers_keeps_digits_inside_identifiers() {
    let options = Options {
        preserve_embedded_numbers: true,
    };
    let mut failures = Vec::new();
    for case in CASES {
        let got = fingerprint_with(case.query.as_bytes(), options);
        if got != case.embedded.as_bytes() {
            failures.push(format!(
                "{}: got {:?}, want {:?}",
                case.name,
                String::from_utf8_lossy(&got),
                case.embedded
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_query_id_is_the_uppercase_md5_of_the_fingerprint() {
    assert_eq!(
        query_id(b"insert into users(name,email,created) values (?,?,now())"),
        "615C505F7655E78FFE9E3124AE13596C"
    );
}
