# frozen_string_literal: true

require_relative "support/helpers"

# The dashboard (RubyLLM::AgentSDK::Dashboard::Engine, mounted at /agents by rails g agent_sdk:dashboard) after a run
# of the worker: the run's cost and turns, the day's cost in its SVG plot, the run in the list.
RSpec.describe "the dashboard", :browser do
  it "shows the run's cost and turns, and the cost per day and model as an SVG plot" do
    app.model.script(support_turns(delay: 0))
    id = create_session
    start_session(id)
    wait_for_status(id, "completed")
    run = session_row(id)
    cost = format("$%.4f", run["total_cost_usd"])
    expect(run["total_cost_usd"]).to be > 0
    today = app.console("AgentSession.where(created_at: Time.current.utc.all_day).where.not(total_cost_usd: nil)" \
                        ".pluck(:total_cost_usd).sum.to_f")

    browser_page.visit(app.url("/agents"))
    bars = browser_page.wait_for("svg#agent_cost_plot rect.agent-plot-bar")
    expect(bars.map { |bar| bar.attribute("data-model") }).to include("claude-haiku-4-5")
    plotted = browser_page.attributes("svg#agent_cost_plot rect.agent-plot-bar", "data-cost").sum(&:to_f)
    expect(plotted).to be_within(1e-9).of(today)
    expect(browser_page.text("#agent_total_cost")).to eq(format("$%.4f", today))
    expect(browser_page.evaluate("document.querySelector('svg#agent_cost_plot').getBoundingClientRect().height")).to be > 0
    expect(Integer(browser_page.text("#agent_finished_runs"))).to be >= 1
    browser_page.screenshot("dashboard-overview")

    browser_page.click("#agent_nav_runs")
    row = browser_page.wait_until("the run in the list") { browser_page.ferrum.at_css("a[href$='/agents/sessions/#{id}']") }
    row.click
    browser_page.wait_for("#agent_session_totals")
    expect(browser_page.text("#agent_session_totals [data-stat=num_turns]")).to eq("3")
    expect(browser_page.text("#agent_session_totals [data-stat=total_cost_usd]")).to eq(cost)
    expect(browser_page.text(badge(id))).to eq("Completed")
    expect(browser_page.texts("#agent_messages .agent-message").size).to eq(row_ids(id).size)
  end

  it "a live session page catches up once subscribed: what was written before it subscribed appears, once" do
    held = AgentSDKSpec::BrowserHelpers::HeldTurn.new(support_turns.first)
    app.model.script([held, *support_turns.drop(1)])
    id = create_session
    expect_catch_up_after_gap("/agents/sessions/#{id}", id, held)
  ensure
    held&.release!
  end
end
