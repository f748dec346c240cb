import SwitchyardStore
import Testing

@Suite("SQL script splitting")
struct SQLScriptTests {
    @Test("splits on semicolons outside strings, comments and dollar quotes")
    func splits() {
        let script = """
            -- a comment; not a statement
            CREATE TABLE a (x text DEFAULT 'semi;colon');
            INSERT INTO a VALUES ('it''s; fine');
            CREATE FUNCTION f() RETURNS void AS $body$ BEGIN PERFORM 1; END $body$ LANGUAGE plpgsql;
            SELECT 1
            """
        let statements = SQLScript.statements(in: script)
        #expect(statements.count == 4)
        #expect(statements[0] == "CREATE TABLE a (x text DEFAULT 'semi;colon')")
        #expect(statements[1] == "INSERT INTO a VALUES ('it''s; fine')")
        #expect(statements[2].hasSuffix("LANGUAGE plpgsql"))
        #expect(statements[3] == "SELECT 1")
    }
}
