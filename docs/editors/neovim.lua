-- preflight's language server in Neovim (0.7 or later, its built-in LSP client): one server for the
-- working directory's project, attached to every buffer of a kind preflight reads.
local preflight_client
vim.api.nvim_create_autocmd("FileType", {
  pattern = { "python", "yaml", "json", "toml", "sh", "bash", "dockerfile", "make" },
  callback = function(args)
    preflight_client = preflight_client or vim.lsp.start_client({
      name = "preflight",
      cmd = { "preflight", "server" },
      root_dir = vim.fn.getcwd(),
    })
    if preflight_client then
      vim.lsp.buf_attach_client(args.buf, preflight_client)
    end
  end,
})
