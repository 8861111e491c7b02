# frozen_string_literal: true

require_relative "support/helpers"

# A Cancel button stops a running session: the model's first turn is held, so the run is running while the page is
# looked at; after the click the session is cancelled (by the worker's job, which then asks the model nothing more).
RSpec.describe "cancelling a running session", :browser do
  let(:held) { AgentSDKSpec::BrowserHelpers::HeldTurn.new(support_turns.first) }

  after { held.release! }

  def expect_stopped(id)
    wait_for_status(id, "cancelled") # written by the job itself as its run ends
    expect(session_row(id)["cancel_requested_at"]).to be_nil # the claim released, the flag cleared with it
    held.release!
    expect(app.model.agent_requests.size).to eq(1) # the held turn only: nothing asked after the cancel
    expect(app.model.pending_turns).to eq(2)
  end

  it "from the scaffold's pages: started with the form, cancelled on its page" do
    app.model.script([held, *support_turns.drop(1)])
    browser_page.visit(app.url("/agent_sessions"))
    browser_page.fill_in("#new_agent_session_prompt", with: AgentSDKSpec::BrowserHelpers::PROMPT)
    browser_page.click_button("Start")
    link = browser_page.wait_for("#agent_sessions_notice a").first
    id = Integer(link.attribute("href")[%r{/agent_sessions/(\d+)\z}, 1])
    expect(browser_page.wait_for("#agent_sessions > li").size).to be >= 1
    expect(browser_page.evaluate("document.getElementById('new_agent_session_prompt').value")).to eq("")

    link.click
    browser_page.wait_for("turbo-cable-stream-source[connected]")
    browser_page.wait_until("the model asked") { held.requested? }
    browser_page.wait_for("#{badge(id)}.agent-status--running")
    browser_page.screenshot("cancel-scaffold-running")
    browser_page.click_button("Cancel")

    browser_page.wait_for("#{badge(id)}.agent-status--cancelled", timeout: 60)
    expect(browser_page.text(badge(id))).to eq("Cancelled")
    expect_stopped(id)
    expect(browser_page.evaluate("document.querySelector('.agent-typing').hidden")).to be(true)
  end

  it "from the dashboard's live session page" do
    app.model.script([held, *support_turns.drop(1)])
    id = create_session
    start_session(id)
    browser_page.wait_until("the model asked") { held.requested? }
    browser_page.visit(app.url("/agents/sessions/#{id}"))
    browser_page.wait_for("turbo-cable-stream-source[connected]")
    browser_page.wait_for("#{badge(id)}.agent-status--running")
    browser_page.ferrum.on(:dialog) { |dialog| dialog.accept } # a confirmation, should the button ask for one
    browser_page.click("#agent_cancel")

    browser_page.wait_for("#{badge(id)}.agent-status--cancelled", timeout: 60)
    expect_stopped(id)
  end
end
