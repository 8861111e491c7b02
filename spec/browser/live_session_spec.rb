# frozen_string_literal: true

require_relative "support/helpers"

# The scaffold's session page (rails g agent_sdk:scaffold) in headless Chromium while AgentJob runs in another process
# (Sidekiq), the broadcasts crossing processes through Redis: each message appears without a reload, in order, and
# the status badge turns completed, with the run's turns and cost; the page ends as a reload would show it.
RSpec.describe "the scaffold's session page, live", :browser do
  it "shows each message as the job in another process records it, in order; the badge turns completed" do
    first_turn = AgentSDKSpec::BrowserHelpers::HeldTurn.new(support_turns.first) # running until looked at
    app.model.script([first_turn, *support_turns.drop(1)])
    id = create_session
    browser_page.visit(app.url("/agent_sessions/#{id}"))
    browser_page.wait_for("turbo-cable-stream-source[connected]")
    watch_messages
    expect(browser_page.text(badge(id))).to eq("Pending")
    expect(browser_page.texts("#agent_messages .agent-message")).to be_empty

    start_session(id)
    browser_page.wait_for("#{badge(id)}.agent-status--running")
    browser_page.wait_until("the model asked") { first_turn.requested? }
    expect(browser_page.evaluate("document.querySelector('.agent-typing').hidden")).to be(false)
    expect(browser_page.evaluate("document.querySelector('form:has(.agent-session__cancel)').hidden")).to be(false)
    first_turn.release!
    browser_page.wait_for("#{badge(id)}.agent-status--completed", timeout: 60)

    rows = row_ids(id)
    expect(rows.size).to be >= 7 # the prompt, init, two tool calls and their results, the answer, the result
    browser_page.wait_until("every row on the page") { browser_page.attributes("#agent_messages .agent-message", "id") == rows }
    expect(browser_page.evaluate("window.agentRowsSeen")).to eq(rows) # each appended live, once, in order
    expect(browser_page.evaluate("window.agentPageMark")).to eq("not reloaded")
    expect(browser_page.texts("#agent_messages .agent-message__tool-name")).to eq(%w[lookup_order check_shipment_status])
    session = session_row(id)
    expect(session).to include("status" => "completed", "num_turns" => 3)
    expect(browser_page.text("#agent_messages .agent-message--result [data-stat=num_turns]")).to eq("3")
    expect(browser_page.text("#agent_messages .agent-message--result [data-stat=total_cost_usd]"))
      .to eq(format("$%.4f", session["total_cost_usd"]))
    expect(browser_page.text(badge(id))).to eq("Completed")
    totals = "#{format('$%.4f', session['total_cost_usd'])} · 3 turns"
    browser_page.wait_until("the totals") { browser_page.text("#totals_agent_session_#{id}") == totals }
    # The agent-session controller follows the badge: no typing indicator, no Cancel, the form to go on.
    expect(browser_page.evaluate("document.querySelector('.agent-typing').hidden")).to be(true)
    expect(browser_page.evaluate("document.querySelector('form:has(.agent-session__cancel)').hidden")).to be(true)
    expect(browser_page.evaluate("document.getElementById('form_agent_session_#{id}').closest('[hidden]')")).to be_nil
    expect(app.model.agent_requests.size).to eq(3)

    # Tool calls folded under their turn live as on a reload: the same transcript after one.
    live = transcript_shape
    expect(live.count { |node| node.is_a?(Array) && node.first == "details.agent-turn" }).to eq(2)
    browser_page.visit(app.url("/agent_sessions/#{id}"))
    expect(transcript_shape).to eq(live)
    expect(browser_page.text("#totals_agent_session_#{id}")).to eq(totals)
  end

  it "catches up once subscribed: what was written before the page's stream subscribed appears, once" do
    held = AgentSDKSpec::BrowserHelpers::HeldTurn.new(support_turns.first)
    app.model.script([held, *support_turns.drop(1)])
    id = create_session
    expect_catch_up_after_gap("/agent_sessions/#{id}", id, held)
    expect(browser_page.evaluate("window.agentPageMark")).to eq("not reloaded")
  ensure
    held&.release!
  end

  it "reloaded after the run, shows the same transcript with the tool calls folded under their turn and the totals" do
    app.model.script(support_turns(delay: 0))
    id = create_session
    start_session(id)
    wait_for_status(id, "completed")
    browser_page.visit(app.url("/agent_sessions/#{id}"))
    expect(browser_page.attributes("#agent_messages .agent-message", "id")).to eq(row_ids(id))
    expect(browser_page.texts("details.agent-turn > summary")).to eq(%w[lookup_order check_shipment_status])
    expect(browser_page.text("#totals_agent_session_#{id}")).to eq("#{format('$%.4f', session_row(id)['total_cost_usd'])} · 3 turns")
  end
end
