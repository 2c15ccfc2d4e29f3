// Where the console's built files are (api/console/built: committed, served by api/http/routes/console.ts).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const consoleDir = dirname(fileURLToPath(import.meta.url));
export const builtDir = join(consoleDir, "built");
