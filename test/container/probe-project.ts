/**
 * A passing Python repository whose tests probe the sandbox: they fail where the code under test
 * can read the App's key (in `secrets`) or the database, or sees the server's environment
 * (with CI_SANDBOX=off, two of them fail).
 */
export function probeProject(secrets: string): Record<string, string> {
  return {
    "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "test_calc.py": [
      "import os",
      "import unittest",
      "",
      "from calc import add",
      "",
      "",
      "class AddTest(unittest.TestCase):",
      "    def test_adds(self):",
      "        self.assertEqual(add(2, 3), 5)",
      "",
      "",
      "def readable(path):",
      "    try:",
      "        with open(path, 'rb'):",
      "            return True",
      "    except OSError:",
      "        return False",
      "",
      "",
      "class SandboxProbe(unittest.TestCase):",
      "    def test_secrets_are_out_of_reach(self):",
      `        self.assertFalse(readable(${JSON.stringify(`${secrets}/app.pem`)}))`,
      "",
      "    def test_data_dir_is_out_of_reach(self):",
      "        self.assertFalse(readable('/var/lib/pyci/pyci.db'))",
      "",
      "    def test_server_environment_is_not_inherited(self):",
      "        self.assertEqual([k for k in os.environ if k.startswith(('WEBHOOK', 'PRIVATE', 'APP_ID', 'CI_'))], [])",
      "",
    ].join("\n"),
  };
}
