// Starts `verifier lsp` for .cap files and adds one command: check the current spec.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("verifier");
  const command = config.get("path", "verifier");
  const serverOptions = { command, args: ["lsp"], transport: TransportKind.stdio };
  const clientOptions = { documentSelector: [{ scheme: "file", language: "cap" }] };
  client = new LanguageClient("verifier", "Capability specs (verifier)", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand("verifier.checkDocument", async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== "cap") {
        vscode.window.showWarningMessage("Open a .cap file to check it.");
        return;
      }
      const verdicts = await client.sendRequest("workspace/executeCommand", {
        command: "verifier.check",
        arguments: [editor.document.uri.toString()],
      });
      const lines = Object.entries(verdicts || {}).map(([name, v]) => `${name}: ${v}`);
      vscode.window.showInformationMessage(lines.length ? lines.join(", ") : "no properties were checked (does the spec have errors?)");
    })
  );
  client.start();
  context.subscriptions.push(client);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
