# frozen_string_literal: true

# The harness's own check (spec/support/browser.rb): what a page logs as an error is collected, so a `:browser`
# example fails on it; a clean page collects nothing.
RSpec.describe AgentSDKSpec::Browser::Page do
  def page_with(html)
    page = described_class.new(AgentSDKSpec::Browser.instance)
    page.visit("data:text/html,#{ERB::Util.url_encode(html)}")
    page
  rescue AgentSDKSpec::Servers::Unavailable => e
    raise if AgentSDKSpec::Servers.required?

    skip("Chromium: #{e.message}")
  end

  it "collects console.error, an uncaught exception and a failed request" do
    page = page_with(<<~HTML)
      <script>
        console.log("fine");
        console.error("boom", 42);
        setTimeout(function () { undefinedFunction(); }, 0);
      </script>
      <img src="http://127.0.0.1:#{closed_port}/missing.png">
    HTML
    errors = page.wait_until("three errors", timeout: 15) { page.errors.size >= 3 && page.errors }
    expect(errors).to include("console.error: boom 42")
    expect(errors).to include(a_string_matching(/\Auncaught: ReferenceError: undefinedFunction is not defined/))
    expect(errors).to include(a_string_matching(%r{\Anetwork error: Failed to load resource: .*missing\.png}))
    expect(page.error_summary).to include("JavaScript errors on the page:", "console.error: boom 42")
  ensure
    page&.close
  end

  it "collects nothing from a page without errors" do
    page = page_with("<p id='done'>ok</p><script>console.log('fine'); console.warn('only a warning');</script>")
    expect(page.text("#done")).to eq("ok")
    expect(page.errors).to eq([])
    expect(page.error_summary).to eq("")
  ensure
    page&.close
  end
end
