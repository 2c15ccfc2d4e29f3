// One type-aware linter for the whole tree (typescript-eslint with type information), and the layering rules:
// imports run one way, `lib ← protocol ← {registry, connectors, materializer} ← api` (shared/DESIGN.md
// "Folders and layers"), with no import cycles, and only lib/kafka/ imports a Kafka client.
// test/lint/layering.test.ts runs `layering()` on fixture files to show it rejects a back-edge.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { createNodeResolver, importX } from "eslint-plugin-import-x";

/** Test code: may import anything, and production code may not import it. */
export const testFiles = [
  "**/*.test.ts",
  "**/test-support/**",
  "connectors/core/conformance/**",
  "**/test-harness.ts",
  "**/*-probe.ts",
  "api/e2e/**",
  "api/testing/**",
  "test/**",
];

/** Entry points: may import anything (the CLI starts the local stack, `mesh up` every role). */
const entryPoints = ["bin/**", "api/cli/**", "deploy/**"];

/**
 * What each production folder may import. Sibling roles do not import each other, connector backends never
 * import each other, and connectors/core imports no backend (connectors/backends.ts registers them).
 */
const mayImport = {
  lib: ["lib"],
  protocol: ["lib", "protocol"],
  registry: ["lib", "protocol", "registry"],
  "connectors/core": ["lib", "protocol", "connectors/core"],
  "connectors/postgres": ["lib", "protocol", "connectors/core", "connectors/postgres"],
  "connectors/mysql": ["lib", "protocol", "connectors/core", "connectors/mysql"],
  // connectors/main.ts (`mesh connect`) and connectors/backends.ts choose the backends.
  "connectors/*.ts": ["lib", "protocol", "connectors"],
  materializer: ["lib", "protocol", "materializer"],
  api: ["lib", "protocol", "registry", "connectors", "materializer", "api"],
};

/** Every place an import can point at, as globs (a zone's `from` must be all globs). */
const places = {
  lib: "lib/**",
  protocol: "protocol/**",
  registry: "registry/**",
  "connectors/core": "connectors/core/**",
  "connectors/postgres": "connectors/postgres/**",
  "connectors/mysql": "connectors/mysql/**",
  "connectors/*.ts": "connectors/*.ts",
  materializer: "materializer/**",
  api: "api/**",
  deploy: "deploy/**",
  bin: "bin/**",
};

const covers = (allowed, place) =>
  allowed.includes(place) || (place.startsWith("connectors/") && allowed.includes("connectors"));

function zones() {
  return Object.entries(mayImport).map(([folder, allowed]) => ({
    target: folder.endsWith(".ts") ? folder : `${folder}/**`,
    from: [
      ...Object.entries(places)
        .filter(([place]) => !covers(allowed, place))
        .map(([, glob]) => glob),
      ...testFiles,
    ],
    message: `${folder} may import ${allowed.join(", ")} only, and no test code (lib ← protocol ← {registry, connectors, materializer} ← api: shared/DESIGN.md).`,
  }));
}

/** The Kafka clients: only lib/kafka/ imports them. */
const kafkaClients = ["kafkajs", "@platformatic/kafka"];

/**
 * Files that import a Kafka client on purpose: the old-client baseline of `npm run bench -- kafka`, and tests
 * that check our output with a stock client.
 */
export const stockKafkaClientUsers = ["test/bench/kafka.ts"];

/** The layering rules, for the tree at `basePath` (the repo, or test/lint/fixtures in the rule's own test). */
export function layering(basePath) {
  return [
    {
      files: ["**/*.ts"],
      plugins: { "import-x": importX },
      languageOptions: { parser: tseslint.parser },
      settings: {
        "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js"] })],
        "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
        "import-x/extensions": [".ts", ".js"],
      },
    },
    {
      files: ["**/*.ts"],
      ignores: [...testFiles, ...entryPoints],
      rules: {
        "import-x/no-restricted-paths": ["error", { basePath, zones: zones() }],
        "import-x/no-cycle": ["error", { ignoreExternal: true }],
      },
    },
    {
      files: ["**/*.ts"],
      ignores: ["lib/kafka/**", ...stockKafkaClientUsers],
      rules: {
        "no-restricted-imports": [
          "error",
          {
            paths: kafkaClients.map((name) => ({
              name,
              message: "Only lib/kafka/ imports a Kafka client: use what lib/kafka/index.ts exports.",
            })),
            patterns: kafkaClients.map((name) => ({
              group: [`${name}/*`],
              message: "Only lib/kafka/ imports a Kafka client: use what lib/kafka/index.ts exports.",
            })),
          },
        ],
      },
    },
  ];
}

export default tseslint.config(
  // test/clients: tours type-checked against generated code (api/e2e/generated-clients.e2e.test.ts).
  {
    ignores: [
      "node_modules/",
      ".mesh/",
      "dist/",
      "**/target/",
      "**/*.js",
      "test/lint/fixtures/",
      "test/clients/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/restrict-template-expressions": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  ...layering(import.meta.dirname),
);
